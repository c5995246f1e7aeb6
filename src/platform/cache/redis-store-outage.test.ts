/**
 * RedisStore through an outage of a redis-server of its own (REDIS_URL must be set, as for every
 * real-Redis suite): killed and restarted empty, hung, flushed of its scripts, and an invalidation
 * skipped by the open breaker replayed. docs/cache-protocol.md, "(d) Redis cannot take an
 * invalidation".
 */
import { createClient } from "@keyv/redis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { codec, type Item, sleep } from "../../../test/support/cache-test-support.js";
import {
  freePort,
  itemCache,
  logger,
  OwnRedis,
  REDIS_URL,
  timed,
  uniqueNamespace,
  watchUnhandled,
} from "../../../test/support/redis-test-support.js";
import { isFillMarker, isTombstone } from "./cache-tokens.js";
import { createRedisStore, type RedisStore } from "./redis-store.js";

// The suite's server and store, set up once below and shared by its describe blocks (in order).
const unhandled: unknown[] = [];
let server: OwnRedis;
let store: RedisStore;

describe.skipIf(!REDIS_URL)("redis store through an outage of its own redis-server", () => {
  watchUnhandled(unhandled);

  beforeAll(async () => {
    server = new OwnRedis(await freePort());
    await server.start();
    store = createRedisStore({
      url: server.url,
      namespace: uniqueNamespace(),
      logger,
      opTimeoutMs: 150,
      breakerMs: 500,
      maxReconnectDelayMs: 200,
    });
    await vi.waitFor(() => store.ping(), { timeout: 5_000, interval: 50 });
  });

  afterAll(async () => {
    server?.resume();
    await store?.close();
    await server?.kill();
  });

  describe("killed", killed);
  describe("hung", hung);
  describe("scripts forgotten, and a breaker skipping an invalidation", scriptsAndBreaker);
});

function killed(): void {
  it("keeps answering through load while Redis is killed, and works again once it is back", async () => {
    const rows = new Map<string, Item>();
    for (let i = 0; i < 20; i++) rows.set(`k${i}`, { id: `k${i}`, version: 1 });
    const before = itemCache(store, rows);
    expect((await before.cache.get("k0"))?.version).toBe(1);
    await before.cache.flushWrites();
    expect(await store.get("items:k0")).toBeDefined();

    await server.kill();

    const during = itemCache(store, rows); // a fresh L1: every get has to go past L2
    for (let i = 0; i < 20; i++) {
      const { result, ms } = await timed(() => during.cache.get(`k${i}`));
      expect(result?.version).toBe(1);
      expect(ms).toBeLessThan(1_000);
    }
    expect(during.load).toHaveBeenCalledTimes(20);
    const { ms: invalidateMs } = await timed(() => during.cache.invalidate("k1"));
    expect(invalidateMs).toBeLessThan(1_000);
    await during.cache.flushWrites();
    await expect(store.ping()).rejects.toThrow();
    await sleep(600); // long enough for several reconnect attempts to fail

    await server.start(); // same port, empty data set
    await vi.waitFor(
      async () => {
        await store.set("after-restart", "yes");
        expect(await store.get("after-restart")).toBe("yes");
      },
      { timeout: 5_000, interval: 100 },
    );
    await store.ping();
    expect(unhandled).toEqual([]);
  });
}

function hung(): void {
  it("bounds calls to a hung Redis, and replays an invalidation it could not do once Redis answers", async () => {
    await vi.waitFor(() => store.ping(), { timeout: 5_000, interval: 50 });
    const rows = new Map<string, Item>([["h", { id: "h", version: 1 }]]);
    const writer = itemCache(store, rows);
    const extra = createRedisStore({
      url: server.url,
      namespace: uniqueNamespace(),
      logger,
      opTimeoutMs: 150,
    });
    await vi.waitFor(() => extra.ping(), { timeout: 5_000, interval: 50 });
    await writer.cache.get("h");
    await writer.cache.flushWrites();
    expect(await store.get("items:h")).toBe(codec.encode({ id: "h", version: 1 }));

    server.pause();
    try {
      // Timeouts open the breaker; then the invalidation's L2 tombstone cannot be written.
      for (const key of ["x1", "x2", "x3"]) {
        const { ms } = await timed(() => store.get(key));
        expect(ms).toBeLessThan(1_000);
      }
      expect(store.breakerOpen).toBe(true);
      rows.set("h", { id: "h", version: 2 });
      const { ms } = await timed(() => writer.cache.invalidate("h"));
      expect(ms).toBeLessThan(1_000);
      // This process reads the key as a miss: the lost invalidation is remembered.
      const reader = itemCache(store, rows);
      expect((await reader.cache.get("h"))?.version).toBe(2);
      await reader.cache.flushWrites();
      // Closing while Redis hangs is bounded too.
      void extra.set("pending", "x");
      await expect(extra.ping()).rejects.toThrow();
      const { ms: closeMs } = await timed(() => extra.close());
      expect(closeMs).toBeLessThan(1_000);
    } finally {
      server.resume();
    }
    // Once Redis answers, the remembered invalidation is replayed: the old value is gone for good.
    const raw = createClient({ url: server.url });
    raw.on("error", () => {});
    try {
      await raw.connect();
      await vi.waitFor(
        async () => expect(isTombstone((await raw.get(`${store.prefix}:items:h`)) ?? "")).toBe(true),
        { timeout: 5_000, interval: 50 },
      );
    } finally {
      raw.destroy();
    }
    await vi.waitFor(() => expect(store.breakerOpen).toBe(false), { timeout: 2_000, interval: 50 });
    const fresh = itemCache(store, rows);
    expect((await fresh.cache.get("h"))?.version).toBe(2);
    expect(unhandled).toEqual([]);
  });
}

function scriptsAndBreaker(): void {
  it("runs its scripts by EVALSHA and loads them again when Redis has forgotten them", async () => {
    await vi.waitFor(() => store.ping(), { timeout: 5_000, interval: 50 });
    const raw = createClient({ url: server.url });
    raw.on("error", () => {});
    try {
      await raw.connect();
      await raw.scriptFlush();
      const { observed } = await store.read("scripts", 60_000);
      expect(isFillMarker(observed ?? "")).toBe(true);
      await raw.scriptFlush();
      expect(await store.fill("scripts", "v", observed ?? "")).toBe(true);
      expect(await store.get("scripts")).toBe("v");
    } finally {
      raw.destroy();
    }
  });

  it("replays an invalidation skipped while the breaker was open, although an earlier one of the key succeeds after it", async () => {
    await vi.waitFor(() => store.ping(), { timeout: 5_000, interval: 50 });
    const own = createRedisStore({
      url: server.url,
      namespace: uniqueNamespace(),
      logger,
      opTimeoutMs: 400,
      breakerMs: 800,
      maxReconnectDelayMs: 200,
    });
    const raw = createClient({ url: server.url });
    raw.on("error", () => {});
    try {
      await vi.waitFor(() => own.ping(), { timeout: 5_000, interval: 50 });
      await raw.connect();
      const full = `${own.prefix}:k`;
      let first: Promise<boolean> | undefined;
      server.pause();
      try {
        const failing = [own.get("f1"), own.get("f2")]; // time out after 400 ms: the breaker opens
        await sleep(150);
        first = own.invalidate("k", 60_000); // a first write's invalidation, slow but answered
        await Promise.all(failing);
        expect(own.breakerOpen).toBe(true);
        // A second write's: skipped at once (lost), and its caller is told so.
        expect(await own.invalidate("k", 60_000)).toBe(false);
      } finally {
        server.resume();
      }
      expect(await first).toBe(true); // answered within its timeout, after the second was lost
      const firstTombstone = await raw.get(full);
      expect(isTombstone(firstTombstone ?? "")).toBe(true);
      // The second invalidation is still owed: it is written once the breaker lets it through.
      await vi.waitFor(
        async () => {
          const now = await raw.get(full);
          expect(isTombstone(now ?? "")).toBe(true);
          expect(now).not.toBe(firstTombstone);
        },
        { timeout: 4_000, interval: 50 },
      );
      expect(unhandled).toEqual([]);
    } finally {
      raw.destroy();
      await own.close();
    }
  });
}
