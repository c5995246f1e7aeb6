import { describe, expect, it, vi } from "vitest";
import { Registry } from "../metrics.js";
import { LayeredCache, type LayeredCacheOptions } from "./layered-cache.js";
import {
  isFillMarker,
  isTombstone,
  MemorySecondLevelStore,
  type Observed,
  type SecondLevelRead,
  type SecondLevelStore,
} from "./second-level-store.js";

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
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
  invalidateGate: Deferred<void> | undefined;

  async get(key: string): Promise<string | undefined> {
    return this.inner.get(key);
  }
  async read(key: string, markerTtlMs: number): Promise<SecondLevelRead> {
    // Reads what the entry was when the read was issued, answers when released.
    const read = await this.inner.read(key, markerTtlMs);
    await this.getGate?.promise;
    return read;
  }
  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.inner.set(key, value, ttlMs);
  }
  async fill(key: string, value: string, observed: Observed, ttlMs?: number): Promise<boolean> {
    return this.inner.fill(key, value, observed, ttlMs);
  }
  async invalidate(key: string, tombstoneTtlMs: number): Promise<void> {
    await this.invalidateGate?.promise;
    await this.inner.invalidate(key, tombstoneTtlMs);
  }
  async delete(key: string): Promise<void> {
    await this.inner.delete(key);
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

/** A source whose loads each wait for the test: `next()` answers the oldest pending load. */
function gatedSource() {
  const rows = new Map<string, Item>();
  const pending: Array<{ key: string; gate: Deferred<void> }> = [];
  const load = vi.fn(async (key: string): Promise<Item | undefined> => {
    // The row is read when the load starts (the old row, if a write commits meanwhile).
    const row = rows.get(key);
    const gate = deferred<void>();
    pending.push({ key, gate });
    await gate.promise;
    return row;
  });
  const next = () => pending.shift()?.gate.resolve();
  return { rows, load, next, pending };
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
    expect(l2.tombstoned("items:a")).toBe(true);
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

  it("never returns the old value after invalidate resolved, even if a get ran during the L2 tombstone write", async () => {
    const { rows, load } = source();
    const l2 = new GatedStore();
    await l2.inner.set("items:a", codec.encode({ id: "a", version: 1 }));
    rows.set("a", { id: "a", version: 2 });
    const c = cache({ load, l2 });

    l2.invalidateGate = deferred();
    const invalidated = c.invalidate("a"); // L2 tombstone write held at the gate
    const during = await c.get("a"); // this store still answers version 1 and L1 takes it
    expect(during?.version).toBe(1);
    l2.invalidateGate.resolve();
    l2.invalidateGate = undefined;
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

  it("reloadAll respects maxEntries in L1 but fills every entry into L2", async () => {
    const { load } = source();
    const l2 = new MemorySecondLevelStore();
    const c = cache({ load, l2, maxEntries: 2 });
    await c.reloadAll(async () => ["a", "b", "c"].map((id) => [id, { id, version: 1 }] as const));
    expect(c.size).toBe(2);
    expect(["a", "b", "c"].map((id) => l2.peek(`items:${id}`) !== undefined)).toEqual([true, true, true]);
  });

  it("replaceAll (entries read before the L2 reads) replaces L1 but fills nothing into L2", async () => {
    const { load } = source();
    const l2 = new MemorySecondLevelStore();
    const c = cache({ load, l2, maxEntries: 2 });
    await c.replaceAll(["a", "b", "c"].map((id) => [id, { id, version: 1 }] as const));
    expect(c.size).toBe(2);
    expect(l2.counts.fill).toBe(0);
    expect(["a", "b", "c"].every((id) => l2.peek(`items:${id}`) === undefined)).toBe(true);
  });

  it("forgetLocally drops L1 and keeps a load in flight from filling either layer, writing nothing to L2", async () => {
    const { rows, next, load } = gatedSource();
    rows.set("a", { id: "a", version: 1 });
    rows.set("b", { id: "b", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const c = cache({ load, l2 });
    const first = c.get("a");
    await settle();
    next();
    await first;
    await c.flushWrites();
    expect(c.getIfPresent("a")?.version).toBe(1);
    const writes = () => l2.counts.set + l2.counts.fill + l2.counts.invalidate + l2.counts.delete;
    const before = writes();
    const filled = l2.peekRaw("items:a");

    c.forgetLocally("a");
    expect(c.getIfPresent("a")).toBeUndefined();
    expect(l2.peekRaw("items:a")).toBe(filled); // L2 is the writer's business
    const racing = c.get("b"); // in flight when another process's event arrives
    await settle();
    c.forgetLocally("b");
    next();
    expect((await racing)?.version).toBe(1);
    await c.flushWrites();
    expect(c.getIfPresent("b")).toBeUndefined();
    expect(writes()).toBe(before);
    expect(l2.marked("items:b")).toBe(true); // its read's marker, never filled
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
    const boom = async (): Promise<never> => {
      throw new Error("boom");
    };
    const broken: SecondLevelStore = {
      get: boom,
      read: boom,
      set: boom,
      fill: boom,
      invalidate: boom,
      delete: boom,
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
    await c.set("a", { id: "a", version: 2 });
    // read, invalidate, set; no fill is attempted after a read that could not tell what L2 held.
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

describe("LayeredCache across processes sharing one L2", () => {
  /** Two "processes": their own LayeredCache (L1, flights) over one shared L2 and one source. */
  function replicas(options: Partial<LayeredCacheOptions<Item>> = {}) {
    const source = gatedSource();
    const l2 = new MemorySecondLevelStore();
    const make = () => cache({ load: source.load, l2, readThroughL2: true, ...options });
    return { ...source, l2, a: make(), b: make() };
  }

  it.each([{ readThroughL2: true }, { readThroughL2: false }])(
    "a load that read the old row before another process's write does not put it back into L2 (%o)",
    async ({ readThroughL2 }) => {
      const { rows, next, l2, a, b } = replicas({ readThroughL2 });
      rows.set("p", { id: "p", version: 1 });

      const before = b.get("p"); // B misses L2 and loads: it reads the OLD row, held at the gate
      await settle();
      rows.set("p", { id: "p", version: 2 }); // A's write commits…
      await a.invalidate("p"); // …and A invalidates before answering
      next(); // B's load completes with the old row and writes back
      expect((await before)?.version).toBe(1); // fine: that get started before the write
      await b.flushWrites();

      expect(l2.peek("items:p")).toBeUndefined();
      expect(l2.tombstoned("items:p")).toBe(true);
      expect(l2.counts.refused).toBe(1);
      const fromA = a.get("p");
      await settle();
      next();
      expect((await fromA)?.version).toBe(2);
      await a.flushWrites();
      // A's load saw the tombstone (it started after the write): its fill replaces it.
      expect(codec.decode(l2.peek("items:p") ?? "null").version).toBe(2);
      if (readThroughL2) expect((await b.get("p"))?.version).toBe(2);
    },
  );

  it.each(["L2 restarted empty", "the tombstone evicted"])(
    "a load that read the old row before another process's write cannot put it back when %s",
    async (how) => {
      const { rows, next, l2, a, b } = replicas();
      rows.set("p", { id: "p", version: 1 });

      const before = b.get("p"); // B's read finds nothing (leaves a marker); it loads the OLD row
      await settle();
      expect(l2.marked("items:p")).toBe(true);
      rows.set("p", { id: "p", version: 2 }); // A's write commits…
      await a.invalidate("p"); // …and A invalidates before answering
      if (how === "L2 restarted empty") l2.wipe();
      else await l2.delete("items:p");
      next(); // B's load completes with the old row and writes back
      expect((await before)?.version).toBe(1);
      await b.flushWrites();
      expect(l2.counts.refused).toBe(1);
      expect(l2.peek("items:p")).toBeUndefined();
      const fromA = a.get("p");
      await settle();
      next();
      expect((await fromA)?.version).toBe(2);
    },
  );

  it("processes that miss together compare against the same marker: one fill wins", async () => {
    const { rows, next, l2, a, b } = replicas();
    rows.set("p", { id: "p", version: 1 });
    const fromB = b.get("p");
    const fromA = a.get("p");
    await settle();
    expect(l2.counts.marker).toBe(1);
    next();
    next();
    expect((await fromA)?.version).toBe(1);
    expect((await fromB)?.version).toBe(1);
    await a.flushWrites();
    await b.flushWrites();
    expect(l2.counts.fill).toBe(2);
    expect(l2.counts.refused).toBe(1);
    expect(codec.decode(l2.peek("items:p") ?? "null").version).toBe(1);
  });

  it("a hit reads L2 without leaving a marker", async () => {
    const { rows, next, l2, a, b } = replicas();
    rows.set("p", { id: "p", version: 1 });
    const first = a.get("p");
    await settle();
    next();
    await first;
    await a.flushWrites();
    expect(isFillMarker(l2.peekRaw("items:p") ?? "")).toBe(false);
    expect((await b.get("p"))?.version).toBe(1);
    expect(l2.counts.marker).toBe(1); // A's miss only
  });

  it("with readThroughL2, a get that starts after another process's invalidate does not join an older flight", async () => {
    const { rows, load } = source();
    const l2 = new GatedStore();
    await l2.inner.set("items:p", codec.encode({ id: "p", version: 1 }));
    const a = cache({ load, l2, readThroughL2: true });
    const b = cache({ load, l2, readThroughL2: true });

    l2.getGate = deferred();
    const before = b.get("p"); // B's L2 read answers version 1, held at the gate
    await settle();
    rows.set("p", { id: "p", version: 2 });
    const gate = l2.getGate;
    l2.getGate = undefined;
    await a.invalidate("p"); // A's write answered
    const after = b.get("p"); // started after that: must not share B's older read
    gate.resolve();
    expect((await before)?.version).toBe(1);
    expect((await after)?.version).toBe(2);
  });

  it("with readThroughL2, a burst of 100 gets costs at most two L2 reads and one load", async () => {
    const { rows, load } = source();
    rows.set("a", { id: "a", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const c = cache({ load, l2, readThroughL2: true });
    const results = await Promise.all(Array.from({ length: 100 }, () => c.get("a")));
    expect(results.every((item) => item?.version === 1)).toBe(true);
    expect(load).toHaveBeenCalledTimes(1);
    expect(l2.counts.get).toBe(2);
  });

  it("a tombstone reads as a miss; the load that saw it replaces it, and another process then reads L2", async () => {
    const { rows, load } = source();
    rows.set("p", { id: "p", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const a = cache({ load, l2, readThroughL2: true });
    const b = cache({ load, l2, readThroughL2: true });
    await a.invalidate("p");
    const tombstone = l2.peekRaw("items:p");
    expect(tombstone !== undefined && isTombstone(tombstone)).toBe(true);
    expect(await l2.get("items:p")).toBeUndefined();
    expect(await l2.read("items:p", 1000)).toEqual({ value: undefined, observed: tombstone });

    expect((await a.get("p"))?.version).toBe(1);
    expect(load).toHaveBeenCalledTimes(1);
    await a.flushWrites();
    expect(l2.tombstoned("items:p")).toBe(false);
    expect((await b.get("p"))?.version).toBe(1);
    expect(load).toHaveBeenCalledTimes(1); // B answered from L2
  });

  it("every invalidation leaves its own tombstone, so a fill that saw an earlier one is refused", async () => {
    const { rows, next, l2, a, b } = replicas();
    rows.set("p", { id: "p", version: 1 });
    await a.invalidate("p");
    const first = l2.peekRaw("items:p");
    const during = b.get("p"); // B reads the first tombstone, loads version 1 (held)
    await settle();
    rows.set("p", { id: "p", version: 2 });
    await a.invalidate("p"); // a second write: a new tombstone
    expect(l2.peekRaw("items:p")).not.toBe(first);
    next();
    await during;
    await b.flushWrites();
    expect(l2.peek("items:p")).toBeUndefined();
    expect(l2.counts.refused).toBe(1);
  });

  it("a write-through set replaces a tombstone", async () => {
    const { load, l2, a, b } = replicas();
    await a.invalidate("p");
    expect(l2.tombstoned("items:p")).toBe(true);
    await a.set("p", { id: "p", version: 3 });
    expect(codec.decode(l2.peek("items:p") ?? "null").version).toBe(3);
    expect((await b.get("p"))?.version).toBe(3);
    expect(load).not.toHaveBeenCalled();
  });

  it("tokens live l2TombstoneTtlMs, and a fill is not sent once its token may have expired", async () => {
    const { rows, next, l2, a, b } = replicas({ l2TombstoneTtlMs: 200 });
    rows.set("p", { id: "p", version: 1 });

    // B's read finds nothing and leaves a marker; its load is held past the marker's lifetime.
    const slow = b.get("p");
    await settle();
    expect(l2.marked("items:p")).toBe(true);
    await sleep(220);
    next();
    expect((await slow)?.version).toBe(1);
    await b.flushWrites();
    expect(l2.counts.fill).toBe(0); // it would be refused: the marker is gone
    expect(l2.peekRaw("items:p")).toBeUndefined();

    // A fill racing an invalidation is refused while the tombstone lives…
    const racing = b.get("p");
    await settle();
    rows.set("p", { id: "p", version: 2 });
    await a.invalidate("p");
    next();
    await racing;
    await b.flushWrites();
    expect(l2.counts.refused).toBe(1);
    expect(l2.tombstoned("items:p")).toBe(true);
    // …and the tombstone is gone after its TTL (the key reads absent; the next load fills it).
    await sleep(220);
    expect(l2.peekRaw("items:p")).toBeUndefined();
    const later = a.get("p");
    await settle();
    next();
    expect((await later)?.version).toBe(2);
    await a.flushWrites();
    expect(codec.decode(l2.peek("items:p") ?? "null").version).toBe(2);
  });

  /** A catalog whose first read is held by the test (it reads the rows as they were then). */
  function heldCatalog(rows: Map<string, Item>) {
    const first = deferred<void>();
    const reads: Array<"held" | "fresh"> = [];
    const loadAll = async (): Promise<Array<[string, Item]>> => {
      const snapshot = [...rows.entries()];
      if (reads.push(reads.length === 0 ? "held" : "fresh") === 1) await first.promise;
      return snapshot;
    };
    return { loadAll, release: () => first.resolve(), reads };
  }

  it("a full reload in one process never writes its older value over another process's write", async () => {
    const { rows, load } = source();
    for (const id of ["x", "y", "z"]) rows.set(id, { id, version: 1 });
    const l2 = new MemorySecondLevelStore();
    const a = cache({ load, l2, readThroughL2: true });
    const b = cache({ load, l2, readThroughL2: true });
    const catalog = heldCatalog(rows);
    const reload = b.reloadAll(catalog.loadAll);
    await settle();
    // While B reads the catalog: A writes x (and invalidates); A writes y, invalidates, and a
    // read through A puts the new y into L2.
    rows.set("x", { id: "x", version: 2 });
    await a.invalidate("x");
    rows.set("y", { id: "y", version: 2 });
    await a.invalidate("y");
    expect((await a.get("y"))?.version).toBe(2);
    await a.flushWrites();
    catalog.release();
    await reload;
    expect(catalog.reads).toEqual(["held", "fresh"]);
    // x held A's tombstone: filled from the second read of the catalog (version 2), never 1.
    expect(codec.decode(l2.peek("items:x") ?? "null").version).toBe(2);
    // y held another value than the reload's: tombstoned (it could be the stale one).
    expect(l2.tombstoned("items:y")).toBe(true);
    expect(codec.decode(l2.peek("items:z") ?? "null").version).toBe(1);
    expect((await b.get("y"))?.version).toBe(2);
  });

  it("a full reload never resurrects an old value, even when the writer's tombstone is gone before its L2 read", async () => {
    const { rows, load } = source();
    rows.set("x", { id: "x", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const a = cache({ load, l2, readThroughL2: true });
    const b = cache({ load, l2, readThroughL2: true });
    const catalog = heldCatalog(rows);
    const reload = b.reloadAll(catalog.loadAll); // reads x version 1…
    await settle();
    rows.set("x", { id: "x", version: 2 }); // …A's write commits
    await a.invalidate("x");
    l2.wipe(); // L2 restarted empty (or the tombstone was evicted) before B's reload reads it
    catalog.release();
    await reload;
    expect(l2.peek("items:x") === undefined || codec.decode(l2.peek("items:x") ?? "").version === 2).toBe(
      true,
    );
    expect((await a.get("x"))?.version).toBe(2);
    expect((await b.get("x"))?.version).toBe(2);
  });

  it("a full reload's fill is refused when the key is invalidated after the reload's L2 read", async () => {
    const { rows, load } = source();
    rows.set("x", { id: "x", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const a = cache({ load, l2, readThroughL2: true });
    const b = cache({ load, l2, readThroughL2: true });
    // The second read of the catalog reads x version 1, and A's write commits and invalidates
    // before that read answers (after B's L2 read left its marker on x).
    const second = deferred<void>();
    let calls = 0;
    const reload = b.reloadAll(async () => {
      const snapshot = [...rows.entries()];
      if (++calls === 2) await second.promise;
      return snapshot;
    });
    await vi.waitFor(() => expect(calls).toBe(2));
    expect(l2.marked("items:x")).toBe(true);
    rows.set("x", { id: "x", version: 2 });
    await a.invalidate("x");
    second.resolve();
    await reload;
    expect(l2.counts.refused).toBe(1);
    expect(l2.tombstoned("items:x")).toBe(true);
    expect((await b.get("x"))?.version).toBe(2);
  });

  it("a full reload's fill is not sent once its marker may have expired, counted from its L2 read", async () => {
    const { rows, load } = source();
    rows.set("x", { id: "x", version: 1 });
    rows.set("y", { id: "y", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const b = cache({ load, l2, readThroughL2: true, l2TombstoneTtlMs: 200 });

    // A slow first read of the catalog does not matter: the markers are left after it.
    let first = 0;
    await b.reloadAll(async () => {
      if (++first === 1) await sleep(220);
      return [["x", rows.get("x") as Item]];
    });
    expect(first).toBe(2);
    expect(l2.counts.fill).toBe(1);
    expect(codec.decode(l2.peek("items:x") ?? "null").version).toBe(1);

    // A second read that outlives the marker: the fill would be refused, and is not sent.
    let calls = 0;
    await b.reloadAll(async () => {
      if (++calls === 2) await sleep(220);
      return [["y", rows.get("y") as Item]];
    });
    expect(calls).toBe(2);
    expect(l2.counts.fill).toBe(1);
    expect(l2.peekRaw("items:y")).toBeUndefined();
  });

  it("a full reload repairs an L2 value changed behind the cache's back, and leaves an equal one", async () => {
    const { rows, load } = source();
    const l2 = new MemorySecondLevelStore();
    const a = cache({ load, l2, readThroughL2: true });
    rows.set("p", { id: "p", version: 1 });
    rows.set("q", { id: "q", version: 1 });
    await a.get("p");
    await a.get("q");
    await a.flushWrites();
    rows.set("p", { id: "p", version: 2 }); // nothing invalidates: L2 holds a stale p
    const writes = l2.counts.set + l2.counts.fill + l2.counts.invalidate;
    await a.reloadAll(async () => [...rows.entries()]);
    expect(l2.counts.set + l2.counts.fill + l2.counts.invalidate - writes).toBe(1);
    expect(l2.tombstoned("items:p")).toBe(true);
    expect(codec.decode(l2.peek("items:q") ?? "null").version).toBe(1);
    expect((await a.get("p"))?.version).toBe(2);
  });

  it("rejects a tombstone TTL that leaves no fill window", () => {
    expect(() => cache({ load: source().load, l2TombstoneTtlMs: 0 })).toThrow(RangeError);
  });
});
