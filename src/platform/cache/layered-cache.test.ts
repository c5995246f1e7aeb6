import { describe, expect, it, vi } from "vitest";
import { Registry } from "../metrics.js";
import { LayeredCache, type LayeredCacheOptions } from "./layered-cache.js";
import { MemorySecondLevelStore, type SecondLevelStore } from "./second-level-store.js";

interface Item {
  id: string;
  version: number;
}

const codec = {
  encode: (item: Item) => JSON.stringify(item),
  decode: (text: string) => JSON.parse(text) as Item,
};

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A source of truth whose rows can change, counting loads. */
function source() {
  const rows = new Map<string, Item>();
  const load = vi.fn(async (key: string): Promise<Item | undefined> => rows.get(key));
  return { rows, load };
}

function cache(options: Partial<LayeredCacheOptions<Item>> & Pick<LayeredCacheOptions<Item>, "load">) {
  return new LayeredCache<Item>({ name: "items", maxEntries: 100, codec, ...options });
}

/** A store whose operations wait for the test to release them. */
class GatedStore implements SecondLevelStore {
  readonly inner = new MemorySecondLevelStore();
  getGate: Deferred<void> | undefined;
  deleteGate: Deferred<void> | undefined;

  async get(key: string): Promise<string | undefined> {
    // Reads what the entry was when the read was issued, answers when released.
    const value = await this.inner.get(key);
    await this.getGate?.promise;
    return value;
  }
  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.inner.set(key, value, ttlMs);
  }
  async delete(key: string): Promise<void> {
    await this.deleteGate?.promise;
    await this.inner.delete(key);
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

describe("LayeredCache", () => {
  it("shares one load among 100 concurrent gets of a cold key", async () => {
    const { rows, load } = source();
    rows.set("a", { id: "a", version: 1 });
    const c = cache({ load });
    const results = await Promise.all(Array.from({ length: 100 }, () => c.get("a")));
    expect(load).toHaveBeenCalledTimes(1);
    expect(new Set(results).size).toBe(1);
    expect(results[0]).toEqual({ id: "a", version: 1 });
  });

  it("shares one L2 read and one load among 100 concurrent gets when L2 is present", async () => {
    const { rows, load } = source();
    rows.set("a", { id: "a", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const c = cache({ load, l2 });
    const results = await Promise.all(Array.from({ length: 100 }, () => c.get("a")));
    expect(l2.counts.get).toBe(1);
    expect(load).toHaveBeenCalledTimes(1);
    expect(results.every((item) => item?.version === 1)).toBe(true);
    await c.flushWrites();
    expect(l2.peek("items:a")).toBe(JSON.stringify({ id: "a", version: 1 }));

    // A second process (fresh L1) sharing the L2: 100 gets, one L2 read, no load.
    const other = cache({ load, l2 });
    const before = l2.counts.get;
    const fromL2 = await Promise.all(Array.from({ length: 100 }, () => other.get("a")));
    expect(l2.counts.get - before).toBe(1);
    expect(load).toHaveBeenCalledTimes(1);
    expect(fromL2.every((item) => item?.version === 1)).toBe(true);
  });

  it("answers an L1 hit with the identical object, without asking L2 or load", async () => {
    const { rows, load } = source();
    rows.set("a", { id: "a", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const c = cache({ load, l2 });
    const first = await c.get("a");
    const l2Reads = l2.counts.get;
    for (let i = 0; i < 10; i++) expect(await c.get("a")).toBe(first);
    expect(c.getIfPresent("a")).toBe(first);
    expect(load).toHaveBeenCalledTimes(1);
    expect(l2.counts.get).toBe(l2Reads);
  });

  it("with readThroughL2, reads what another process's write left in the shared L2, not its own L1", async () => {
    const { rows, load } = source();
    rows.set("a", { id: "a", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const here = cache({ load, l2, readThroughL2: true });
    const there = cache({ load, l2, readThroughL2: true });
    expect(await here.get("a")).toEqual({ id: "a", version: 1 });
    expect(here.getIfPresent("a")).toBeUndefined();
    // The other replica writes and invalidates (L2 included) before it answers.
    rows.set("a", { id: "a", version: 2 });
    await there.invalidate("a");
    expect(await here.get("a")).toEqual({ id: "a", version: 2 });
  });

  it("does not cache not-found and does not cache a failed load", async () => {
    const { rows, load } = source();
    const c = cache({ load });
    expect(await c.get("missing")).toBeUndefined();
    expect(await c.get("missing")).toBeUndefined();
    expect(load).toHaveBeenCalledTimes(2);

    const failing = vi.fn(async (): Promise<Item | undefined> => {
      throw new Error("db down");
    });
    const c2 = cache({ load: failing });
    const all = await Promise.allSettled(Array.from({ length: 10 }, () => c2.get("a")));
    expect(all.every((r) => r.status === "rejected")).toBe(true);
    expect(failing).toHaveBeenCalledTimes(1);
    rows.set("a", { id: "a", version: 1 });
    await expect(c2.get("a")).rejects.toThrow("db down");
    expect(failing).toHaveBeenCalledTimes(2);
  });

  it("invalidate removes the key from both layers; the next get loads the new value", async () => {
    const { rows, load } = source();
    rows.set("a", { id: "a", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const c = cache({ load, l2 });
    expect((await c.get("a"))?.version).toBe(1);
    await c.flushWrites();
    expect(l2.peek("items:a")).toBeDefined();

    rows.set("a", { id: "a", version: 2 });
    await c.invalidate("a");
    expect(c.getIfPresent("a")).toBeUndefined();
    expect(l2.peek("items:a")).toBeUndefined();
    expect((await c.get("a"))?.version).toBe(2);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it("keeps a load that started before invalidate from filling L1 or L2 (stale-read race)", async () => {
    const l2 = new MemorySecondLevelStore();
    const gates: Deferred<Item>[] = [];
    const load = vi.fn((_key: string) => {
      const gate = deferred<Item>();
      gates.push(gate);
      return gate.promise;
    });
    const c = cache({ load, l2 });

    const before = c.get("a"); // cold: L2 miss, load #1 pending (reads the OLD row)
    await settle();
    expect(load).toHaveBeenCalledTimes(1);

    await c.invalidate("a"); // the row was written; the cache is told

    const after = c.get("a"); // must not join load #1
    await settle();
    expect(load).toHaveBeenCalledTimes(2);

    gates[0]?.resolve({ id: "a", version: 1 }); // the OLD value arrives late
    expect((await before)?.version).toBe(1); // fine: that get started before the write
    await c.flushWrites();
    expect(c.getIfPresent("a")).toBeUndefined();
    expect(l2.peek("items:a")).toBeUndefined();

    gates[1]?.resolve({ id: "a", version: 2 });
    expect((await after)?.version).toBe(2);
    expect((await c.get("a"))?.version).toBe(2);
    await c.flushWrites();
    expect(codec.decode(l2.peek("items:a") ?? "null").version).toBe(2);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it("keeps an L2 read that started before invalidate from filling L1", async () => {
    const { rows, load } = source();
    const l2 = new GatedStore();
    await l2.inner.set("items:a", codec.encode({ id: "a", version: 1 }));
    rows.set("a", { id: "a", version: 2 });
    const c = cache({ load, l2 });

    l2.getGate = deferred();
    const before = c.get("a"); // reads version 1 from L2, held at the gate
    await settle();
    await c.invalidate("a");
    l2.getGate.resolve();
    l2.getGate = undefined;
    expect((await before)?.version).toBe(1);
    expect(c.getIfPresent("a")).toBeUndefined();
    expect((await c.get("a"))?.version).toBe(2);
  });

  it("never returns the old value after invalidate resolved, even if a get ran during the L2 delete", async () => {
    const { rows, load } = source();
    const l2 = new GatedStore();
    await l2.inner.set("items:a", codec.encode({ id: "a", version: 1 }));
    rows.set("a", { id: "a", version: 2 });
    const c = cache({ load, l2 });

    l2.deleteGate = deferred();
    const invalidated = c.invalidate("a"); // L2 delete held at the gate
    const during = await c.get("a"); // this store still answers version 1 and L1 takes it
    expect(during?.version).toBe(1);
    l2.deleteGate.resolve();
    l2.deleteGate = undefined;
    await invalidated;
    expect(c.getIfPresent("a")).toBeUndefined();
    expect((await c.get("a"))?.version).toBe(2);
  });

  it("set writes through both layers and outranks a load in flight", async () => {
    const l2 = new MemorySecondLevelStore();
    const gate = deferred<Item>();
    const load = vi.fn((_key: string) => gate.promise);
    const c = cache({ load, l2 });
    const pending = c.get("a");
    await settle();
    const fresh = { id: "a", version: 3 };
    await c.set("a", fresh);
    gate.resolve({ id: "a", version: 1 });
    await pending;
    await c.flushWrites();
    expect(c.getIfPresent("a")).toBe(fresh);
    expect(codec.decode(l2.peek("items:a") ?? "null").version).toBe(3);
  });

  it("bounds L1 and evicts the least recently used entry", async () => {
    const { rows, load } = source();
    for (const id of ["a", "b", "c", "d"]) rows.set(id, { id, version: 1 });
    const c = cache({ load, maxEntries: 3 });
    await c.get("a");
    await c.get("b");
    await c.get("c");
    await c.get("a"); // a is now the most recently used; b the least
    await c.get("d");
    expect(c.size).toBe(3);
    expect(c.getIfPresent("b")).toBeUndefined();
    expect(load).toHaveBeenCalledTimes(4);
    await c.get("a");
    await c.get("c");
    await c.get("d");
    expect(load).toHaveBeenCalledTimes(4);
    await c.get("b");
    expect(load).toHaveBeenCalledTimes(5);
    expect(c.size).toBe(3);
  });

  it("reloadAll replaces L1, writes L2, and keeps writes made while it loaded", async () => {
    const { rows, load } = source();
    const l2 = new MemorySecondLevelStore();
    const c = cache({ load, l2 });
    rows.set("gone", { id: "gone", version: 1 });
    await c.get("gone");

    const gate = deferred<Array<[string, Item]>>();
    const reload = c.reloadAll(() => gate.promise);
    // While the reload reads the catalog: a is updated and invalidated, b written through.
    rows.set("a", { id: "a", version: 2 });
    await c.invalidate("a");
    const b2 = { id: "b", version: 2 };
    await c.set("b", b2);
    gate.resolve([
      ["a", { id: "a", version: 1 }],
      ["b", { id: "b", version: 1 }],
      ["c", { id: "c", version: 1 }],
    ]);
    await reload;

    expect(c.getIfPresent("gone")).toBeUndefined();
    expect(c.getIfPresent("a")).toBeUndefined();
    expect(l2.peek("items:a")).toBeUndefined();
    expect(c.getIfPresent("b")).toBe(b2);
    expect(codec.decode(l2.peek("items:b") ?? "null").version).toBe(2);
    expect(c.getIfPresent("c")?.version).toBe(1);
    expect(l2.peek("items:c")).toBeDefined();
    const loads = load.mock.calls.length;
    expect((await c.get("a"))?.version).toBe(2);
    expect(load.mock.calls.length).toBe(loads + 1);
  });

  it("replaceAll respects maxEntries in L1 but writes every entry to L2", async () => {
    const { load } = source();
    const l2 = new MemorySecondLevelStore();
    const c = cache({ load, l2, maxEntries: 2 });
    await c.replaceAll(["a", "b", "c"].map((id) => [id, { id, version: 1 }] as const));
    expect(c.size).toBe(2);
    expect(l2.keys().sort()).toEqual(["items:a", "items:b", "items:c"]);
  });

  it("clear empties L1 and keeps in-flight loads from filling it", async () => {
    const gate = deferred<Item>();
    const load = vi.fn((_key: string) => gate.promise);
    const c = cache({ load });
    const pending = c.get("a");
    await settle();
    c.clear();
    gate.resolve({ id: "a", version: 1 });
    await pending;
    expect(c.size).toBe(0);
  });

  it("treats a failing L2 as a miss and counts it", async () => {
    const { rows, load } = source();
    rows.set("a", { id: "a", version: 1 });
    const broken: SecondLevelStore = {
      get: async () => {
        throw new Error("boom");
      },
      set: async () => {
        throw new Error("boom");
      },
      delete: async () => {
        throw new Error("boom");
      },
      ping: async () => {
        throw new Error("boom");
      },
      close: async () => {},
    };
    const metrics = new Registry();
    const c = cache({ load, l2: broken, metrics });
    expect((await c.get("a"))?.version).toBe(1);
    await c.flushWrites();
    await c.invalidate("a");
    const text = await metrics.getSingleMetricAsString("cache_l2_errors_total");
    expect(text).toContain('cache_l2_errors_total{cache="items"} 3');
  });

  it("treats an undecodable L2 entry as a miss", async () => {
    const { rows, load } = source();
    rows.set("a", { id: "a", version: 2 });
    const l2 = new MemorySecondLevelStore();
    await l2.set("items:a", "{not json");
    const c = cache({ load, l2 });
    expect((await c.get("a"))?.version).toBe(2);
    await c.flushWrites();
    expect(codec.decode(l2.peek("items:a") ?? "null").version).toBe(2);
  });

  it("counts hits per layer, misses and loads; several caches share one registry", async () => {
    const metrics = new Registry();
    const { rows, load } = source();
    rows.set("a", { id: "a", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const first = cache({ load, l2, metrics });
    const second = cache({ load, l2, metrics, name: "other" });
    const third = cache({ load, l2, metrics }); // same name, same registry: no double registration
    await Promise.all([first.get("a"), first.get("a")]); // 2 misses, 1 load
    await first.get("a"); // l1 hit
    await first.flushWrites();
    await third.get("a"); // l2 hit
    await second.get("a"); // miss (its L2 keys are "other:…"), load
    const json = await metrics.getMetricsAsJSON();
    const value = (name: string, labels: Record<string, string>) =>
      json
        .find((m) => m.name === name)
        ?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    expect(value("cache_misses_total", { cache: "items" })).toBe(2);
    expect(value("cache_loads_total", { cache: "items" })).toBe(1);
    expect(value("cache_hits_total", { cache: "items", layer: "l1" })).toBe(1);
    expect(value("cache_hits_total", { cache: "items", layer: "l2" })).toBe(1);
    expect(value("cache_misses_total", { cache: "other" })).toBe(1);
    expect(value("cache_loads_total", { cache: "other" })).toBe(1);
  });
});
