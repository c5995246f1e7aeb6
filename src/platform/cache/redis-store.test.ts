/**
 * RedisStore against the machine's Redis (REDIS_URL; skipped without it): keys and TTLs, per-key
 * order, tombstones, fill markers and the compare-and-set fill, and two processes sharing Redis.
 * docs/cache-protocol.md, "Building blocks", "(a)" and "(b)".
 */
import { createClient } from "@keyv/redis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { codec, deferred, type Item, sleep } from "../../../test/support/cache-test-support.js";
import {
  itemCache,
  logger,
  REDIS_URL,
  uniqueNamespace,
  watchUnhandled,
} from "../../../test/support/redis-test-support.js";
import { isFillMarker, isTombstone } from "./cache-tokens.js";
import { LayeredCache } from "./layered-cache.js";
import { createRedisStore, type RedisStore } from "./redis-store.js";

// The suite's store and raw client, set up once below and shared by its describe blocks.
const unhandled: unknown[] = [];
const namespace = uniqueNamespace();
const url = REDIS_URL ?? "";
let store: RedisStore;
let raw: ReturnType<typeof createClient>;

describe.skipIf(!REDIS_URL)("redis store against the machine's Redis (REDIS_URL)", () => {
  watchUnhandled(unhandled);

  beforeAll(async () => {
    store = createRedisStore({ url, namespace, logger });
    raw = createClient({ url });
    raw.on("error", () => {});
    await raw.connect();
    await vi.waitFor(() => store.ping(), { timeout: 5_000, interval: 50 });
  });

  afterAll(async () => {
    await store?.close();
    if (raw?.isOpen) {
      for await (const keys of raw.scanIterator({ MATCH: `${namespace}:*`, COUNT: 1000 })) {
        if (keys.length > 0) await raw.unlink(keys);
      }
      raw.destroy();
    }
  });

  describe("plain operations and compare-and-set", plainOperationsAndCompareAndSet);
  describe("emptied keys and per-key order", emptiedKeysAndOrder);
  describe("two processes sharing it", twoProcesses);
});

function plainOperationsAndCompareAndSet(): void {
  it("pings, and round-trips set/get/delete under <namespace>:cache:, with TTL", async () => {
    await store.ping();
    await store.set("k1", "hello");
    expect(await store.get("k1")).toBe("hello");
    expect(await raw.get(`${namespace}:cache:k1`)).toBe("hello");
    await store.delete("k1");
    expect(await store.get("k1")).toBeUndefined();
    expect(await store.get("never-set")).toBeUndefined();

    await store.set("short", "lived", 60_000);
    const ttl = await raw.pTTL(`${namespace}:cache:short`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("applies operations on one key in call order (a delete is not overtaken by an earlier set)", async () => {
    for (let i = 0; i < 50; i++) {
      const key = `order-${i}`;
      const set = store.set(key, "old");
      const deleted = store.delete(key);
      await Promise.all([set, deleted]);
      expect(await raw.get(`${namespace}:cache:${key}`)).toBeNull();
    }
  });

  it("invalidate writes a unique, expiring tombstone that reads as a miss; fill is a compare-and-set", async () => {
    const key = "cas";
    const full = `${namespace}:cache:${key}`;
    // Empty: the read leaves a unique fill marker (a miss) and observes it; never "nothing".
    const { value, observed: marker } = await store.read(key, 60_000);
    expect(value).toBeUndefined();
    expect(isFillMarker(marker ?? "")).toBe(true);
    expect(await raw.get(full)).toBe(marker);
    const markerTtl = await raw.pTTL(full);
    expect(markerTtl).toBeGreaterThan(50_000);
    expect(markerTtl).toBeLessThanOrEqual(60_000);
    expect(await store.get(key)).toBeUndefined();
    // Another reader observes the same marker (installs nothing): one of their fills wins.
    expect(await store.read(key, 60_000)).toEqual({ value: undefined, observed: marker });
    expect(await store.fill(key, "v1", marker ?? "", 60_000)).toBe(true);
    expect(await store.fill(key, "other", marker ?? "", 60_000)).toBe(false);
    expect(await store.read(key, 60_000)).toEqual({ value: "v1", observed: "v1" });
    expect(await raw.pTTL(full)).toBeGreaterThan(50_000);

    await store.invalidate(key, 10_000);
    const tombstone = (await raw.get(full)) ?? "";
    expect(isTombstone(tombstone)).toBe(true);
    const tombstoneTtl = await raw.pTTL(full);
    expect(tombstoneTtl).toBeGreaterThan(8_000);
    expect(tombstoneTtl).toBeLessThanOrEqual(10_000);
    expect(await store.get(key)).toBeUndefined();
    expect(await store.read(key, 60_000)).toEqual({ value: undefined, observed: tombstone });
    // A fill that observed the value or the marker before the invalidation is refused.
    expect(await store.fill(key, "old", "v1")).toBe(false);
    expect(await store.fill(key, "old", marker ?? "")).toBe(false);
    expect(await raw.get(full)).toBe(tombstone);

    // Each invalidation leaves its own tombstone: one that observed the previous is refused too.
    await store.invalidate(key, 10_000);
    expect(await raw.get(full)).not.toBe(tombstone);
    expect(await store.fill(key, "old", tombstone)).toBe(false);

    // A fill that observed the current tombstone replaces it; a set replaces anything.
    const current = (await store.read(key, 60_000)).observed ?? "";
    expect(await store.fill(key, "v2", current)).toBe(true);
    expect(await store.get(key)).toBe("v2");
    expect(await raw.pTTL(full)).toBe(-1); // no TTL asked: none kept from the tombstone
    await store.invalidate(key, 10_000);
    await store.set(key, "v3");
    expect(await store.get(key)).toBe("v3");
  });
}

function emptiedKeysAndOrder(): void {
  it("refuses a fill once the key was emptied after its read (Redis restarted empty, tombstone evicted or expired)", async () => {
    const key = "emptied";
    const full = `${namespace}:cache:${key}`;
    const { observed: marker } = await store.read(key, 60_000); // before the load reads the old row
    await store.invalidate(key, 50); // the write's tombstone…
    await raw.del(full); // …is gone (a restart without persistence, an eviction)
    expect(await store.fill(key, "old", marker ?? "")).toBe(false);
    expect(await raw.get(full)).toBeNull();

    const { observed: tombstoneSeen } = await (async () => {
      await store.invalidate(key, 50);
      return store.read(key, 60_000);
    })();
    expect(isTombstone(tombstoneSeen ?? "")).toBe(true);
    await sleep(120); // the tombstone expires before the fill
    expect(await store.fill(key, "late", tombstoneSeen ?? "")).toBe(false);
    expect(await raw.get(full)).toBeNull();
    // A read now leaves a new marker, and the load after it fills.
    const { observed: fresh } = await store.read(key, 60_000);
    expect(isFillMarker(fresh ?? "")).toBe(true);
    expect(fresh).not.toBe(marker);
    expect(await store.fill(key, "v4", fresh ?? "")).toBe(true);
  });

  it("keeps an invalidation issued after a read on the key behind that read's marker", async () => {
    for (let i = 0; i < 20; i++) {
      const key = `read-order-${i}`;
      // The read needs two round trips on an empty key (GET, then the marker script): the
      // invalidation, called after it, must not be executed in between.
      const read = store.read(key, 60_000);
      const invalidated = store.invalidate(key, 10_000);
      const [{ observed }] = await Promise.all([read, invalidated]);
      expect(isFillMarker(observed ?? "")).toBe(true);
      expect(await store.fill(key, "old", observed ?? "")).toBe(false);
      expect(isTombstone((await raw.get(`${namespace}:cache:${key}`)) ?? "")).toBe(true);
    }
  });
}

function twoProcesses(): void {
  it("two processes: a load that read the old row before the other's write cannot put it back into Redis", async () => {
    // Each "process" has its own RedisStore (connection) and LayeredCache, as replicas do.
    const other = createRedisStore({ url, namespace, logger });
    try {
      await vi.waitFor(() => other.ping(), { timeout: 5_000, interval: 50 });
      const rows = new Map<string, Item>([["race", { id: "race", version: 1 }]]);
      const a = itemCache(store, rows, true);
      const held = deferred();
      const loadStarted = deferred();
      const bLoad = vi.fn(async (key: string) => {
        const row = rows.get(key); // reads the OLD row…
        loadStarted.resolve();
        await held.promise; // …and answers only after the other process's write
        return row;
      });
      const b = new LayeredCache<Item>({
        name: "items",
        maxEntries: 100,
        l2: other,
        codec,
        load: bLoad,
        logger,
        readThroughL2: true,
      });

      const before = b.get("race");
      await loadStarted.promise;
      rows.set("race", { id: "race", version: 2 }); // A's write commits
      await a.cache.invalidate("race"); // A invalidates, then answers
      held.resolve();
      expect((await before)?.version).toBe(1); // started before the write: fine
      await b.flushWrites();

      expect(await store.get("items:race")).toBeUndefined();
      expect(isTombstone((await raw.get(`${namespace}:cache:items:race`)) ?? "")).toBe(true);
      expect((await a.cache.get("race"))?.version).toBe(2);
      expect((await b.get("race"))?.version).toBe(2);
      await a.cache.flushWrites();
      // The load that started after the write replaced the tombstone: B reads it from Redis.
      expect(await store.get("items:race")).toBe(codec.encode({ id: "race", version: 2 }));
      expect(unhandled).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it("lets a second LayeredCache sharing the store answer from L2 without calling load", async () => {
    const rows = new Map<string, Item>([["p1", { id: "p1", version: 1 }]]);
    const first = itemCache(store, rows);
    const second = itemCache(store, rows);
    expect(await first.cache.get("p1")).toEqual({ id: "p1", version: 1 });
    await first.cache.flushWrites();
    expect(first.load).toHaveBeenCalledTimes(1);

    const results = await Promise.all(Array.from({ length: 20 }, () => second.cache.get("p1")));
    expect(results.every((item) => item?.version === 1)).toBe(true);
    expect(second.load).not.toHaveBeenCalled();

    // A write in "process one": invalidate reaches L2; process two (told by the event) reloads.
    rows.set("p1", { id: "p1", version: 2 });
    await first.cache.invalidate("p1");
    expect(isTombstone((await raw.get(`${namespace}:cache:items:p1`)) ?? "")).toBe(true);
    await second.cache.invalidate("p1");
    expect((await second.cache.get("p1"))?.version).toBe(2);
    expect(second.load).toHaveBeenCalledTimes(1);
    expect(unhandled).toEqual([]);
  });
}
