/**
 * RedisStore with no Redis to reach at all: gets still answer through load, within bounds, and
 * ping rejects. docs/cache-protocol.md, "(d) Redis cannot take an invalidation".
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Item } from "../../../test/support/cache-test-support.js";
import {
  freePort,
  itemCache,
  logger,
  timed,
  uniqueNamespace,
  watchUnhandled,
} from "../../../test/support/redis-test-support.js";
import { createRedisStore, type RedisStore } from "./redis-store.js";

describe("redis store without a reachable Redis", () => {
  const unhandled = watchUnhandled();
  const stores: RedisStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  it("still answers gets through load when Redis is down at construction; ping rejects", async () => {
    const port = await freePort();
    const store = createRedisStore({
      url: `redis://127.0.0.1:${port}`,
      namespace: uniqueNamespace(),
      logger,
      opTimeoutMs: 150,
    });
    stores.push(store);
    const rows = new Map<string, Item>([["a", { id: "a", version: 1 }]]);
    const { cache, load } = itemCache(store, rows);

    for (const key of ["a", "b", "a"]) {
      const { ms } = await timed(() => cache.invalidate(key));
      expect(ms).toBeLessThan(1_000);
    }
    const { result, ms } = await timed(() => cache.get("a"));
    expect(result).toEqual({ id: "a", version: 1 });
    expect(ms).toBeLessThan(1_000);
    expect(load).toHaveBeenCalledTimes(1);
    await cache.flushWrites();
    await expect(store.ping()).rejects.toThrow();
    await store.close();
    await store.close(); // idempotent
    expect(await store.get("a")).toBeUndefined();
    expect(unhandled).toEqual([]);
  });
});
