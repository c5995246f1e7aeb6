/**
 * LayeredCache in one process: one flight per key, L1, what is never cached, L2 trouble and
 * metrics. The protocol these tests hold the cache to: docs/cache-protocol.md.
 */
import { describe, expect, it, vi } from "vitest";
import {
  cache,
  codec,
  deferred,
  type Item,
  settle,
  source,
} from "../../../test/support/cache-test-support.js";
import { Registry } from "../metrics.js";
import { MemorySecondLevelStore, type SecondLevelStore } from "./second-level-store.js";

describe("LayeredCache: one flight per key", () => {
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
});

describe("LayeredCache: reading through L2", () => {
  it("hands out the same object while L2 holds the same text, and decodes again once it changes", async () => {
    const { rows, load } = source();
    rows.set("a", { id: "a", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const decode = vi.fn(codec.decode);
    const c = cache({ load, l2, readThroughL2: true, codec: { ...codec, decode } });
    await c.get("a"); // L2 miss: loaded, and filled
    await c.flushWrites();
    const first = await c.get("a");
    const second = await c.get("a");
    expect(first).toEqual({ id: "a", version: 1 });
    expect(second).toBe(first);
    expect(decode).toHaveBeenCalledTimes(1);

    // Another process changes the row and invalidates; the next reads see version 2, decoded once.
    const other = cache({ load, l2, readThroughL2: true });
    rows.set("a", { id: "a", version: 2 });
    expect(await other.invalidate("a")).toBe(true);
    await c.get("a"); // the tombstone: loaded, and filled
    await c.flushWrites();
    const third = await c.get("a");
    const fourth = await c.get("a");
    expect(third).toEqual({ id: "a", version: 2 });
    expect(fourth).toBe(third);
    expect(decode).toHaveBeenCalledTimes(2);
  });
});

describe("LayeredCache: L1", () => {
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
});

describe("LayeredCache: what is not cached, and L2 trouble", () => {
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
    expect(await c.invalidate("a")).toBe(false); // its caller learns the tombstone is not there
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
});

describe("LayeredCache: metrics and options", () => {
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

  it("rejects a tombstone TTL that leaves no fill window", () => {
    expect(() => cache({ load: source().load, l2TombstoneTtlMs: 0 })).toThrow(RangeError);
  });
});
