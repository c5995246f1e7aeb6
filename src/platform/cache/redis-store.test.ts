import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createConnection, createServer } from "node:net";
import { createClient } from "@keyv/redis";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { LayeredCache } from "./layered-cache.js";
import { createRedisStore, type RedisStore } from "./redis-store.js";
import { isFillMarker, isTombstone } from "./second-level-store.js";

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const REDIS_URL = process.env.REDIS_URL;
const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? "/usr/bin/redis-server";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const uniqueNamespace = () => `test-cache-${randomBytes(6).toString("hex")}`;

interface Item {
  id: string;
  version: number;
}

const codec = {
  encode: (item: Item) => JSON.stringify(item),
  decode: (text: string) => JSON.parse(text) as Item,
};

function itemCache(store: RedisStore, rows: Map<string, Item>, readThroughL2 = false) {
  const load = vi.fn(async (key: string) => rows.get(key));
  const cache = new LayeredCache<Item>({
    name: "items",
    maxEntries: 100,
    l2: store,
    codec,
    load,
    logger,
    readThroughL2,
  });
  return { cache, load };
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

/** Times one call; returns its result and how long it took. */
async function timed<R>(run: () => Promise<R>): Promise<{ result: R; ms: number }> {
  const start = performance.now();
  const result = await run();
  return { result, ms: performance.now() - start };
}

/** A port nothing listens on (right now). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A redis-server of our own (never the machine's shared one), killed at will. */
class OwnRedis {
  #child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(REDIS_SERVER, ["--port", String(this.port), "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    this.#child = child;
    const exited = new Promise<never>((_, reject) => {
      child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}`)));
      child.once("error", reject);
    });
    exited.catch(() => {});
    const ready = (async () => {
      for (let i = 0; i < 200; i++) {
        if (await canConnect(this.port)) return;
        await sleep(25);
      }
      throw new Error(`redis-server on port ${this.port} did not accept connections`);
    })();
    await Promise.race([ready, exited]);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }

  /** Freezes the server: connections stay open, nothing is answered (a hung Redis). */
  pause(): void {
    this.#child?.kill("SIGSTOP");
  }

  resume(): void {
    this.#child?.kill("SIGCONT");
  }
}

/** Fails the test on any unhandled rejection or uncaught error while the suite runs. */
function watchUnhandled() {
  const seen: unknown[] = [];
  const record = (error: unknown) => seen.push(error);
  beforeAll(() => {
    process.on("unhandledRejection", record);
    process.on("uncaughtException", record);
  });
  afterAll(() => {
    process.off("unhandledRejection", record);
    process.off("uncaughtException", record);
  });
  return seen;
}

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

describe.skipIf(!REDIS_URL)("redis store against the machine's Redis (REDIS_URL)", () => {
  const unhandled = watchUnhandled();
  const namespace = uniqueNamespace();
  const url = REDIS_URL ?? "";
  let store: RedisStore;
  let raw: ReturnType<typeof createClient>;

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
});

describe.skipIf(!REDIS_URL)("redis store through an outage of its own redis-server", () => {
  const unhandled = watchUnhandled();
  let server: OwnRedis;
  let store: RedisStore;

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
      let first: Promise<void> | undefined;
      server.pause();
      try {
        const failing = [own.get("f1"), own.get("f2")]; // time out after 400 ms: the breaker opens
        await sleep(150);
        first = own.invalidate("k", 60_000); // a first write's invalidation, slow but answered
        await Promise.all(failing);
        expect(own.breakerOpen).toBe(true);
        await own.invalidate("k", 60_000); // a second write's: skipped at once (lost)
      } finally {
        server.resume();
      }
      await first; // answered within its timeout, after the second was lost
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
});
