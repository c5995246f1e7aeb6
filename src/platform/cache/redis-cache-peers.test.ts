/**
 * The freshness lease over Redis pub/sub, against a redis-server of the suite's own (hung,
 * killed, restarted at will): a forget reaches every process before it resolves; a process that
 * does not answer holds a writer for one lease at most and cannot answer from L1 meanwhile; a
 * process that may have missed forgets drops everything before L1 answers again.
 * docs/cache-protocol.md, "(e) L1 under a freshness lease".
 */
import { createClient } from "@keyv/redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../../test/support/cache-test-support.js";
import { waitFor } from "../../../test/support/event-test-support.js";
import {
  freePort,
  logger,
  OwnRedis,
  REDIS_URL,
  timed,
  uniqueNamespace,
  watchUnhandled,
} from "../../../test/support/redis-test-support.js";
import { createMetricsRegistry } from "../metrics.js";
import { createRedisCachePeers, type RedisCachePeers } from "./redis-cache-peers.js";

const LEASE_MS = 600;
const unhandled: unknown[] = [];
let server: OwnRedis;
const opened: RedisCachePeers[] = [];

function peers(namespace: string, metrics = createMetricsRegistry({ defaultMetrics: false })) {
  const created = createRedisCachePeers({ url: server.url, namespace, logger, leaseMs: LEASE_MS, metrics });
  opened.push(created);
  return created;
}

/** Every listener call of `name` on `peer`, in order. */
function heard(peer: RedisCachePeers, name = "items"): (readonly string[] | undefined)[] {
  const calls: (readonly string[] | undefined)[] = [];
  peer.listen(name, (keys) => calls.push(keys));
  return calls;
}

/**
 * Until each is in sync and has been for a lease: only then does a writer trust that the processes
 * it has seen pinging are all that can hold a lease (before, a forget waits the whole lease).
 */
async function settled(...all: RedisCachePeers[]) {
  await waitFor("peers in sync", () => all.every((peer) => peer.inSync()), 5_000);
  await sleep(LEASE_MS + 100);
}

describe.skipIf(!REDIS_URL)("cache peers over Redis pub/sub", () => {
  watchUnhandled(unhandled);

  beforeAll(async () => {
    server = new OwnRedis(await freePort());
    await server.start();
  });
  afterEach(async () => {
    server.resume();
    await Promise.all(opened.splice(0).map((peer) => peer.close()));
  });
  afterAll(async () => {
    await server.kill();
    expect(unhandled).toEqual([]);
  });

  it("a forget reaches every process's listeners before it resolves, its own included", async () => {
    const namespace = uniqueNamespace();
    const [a, b, c] = [peers(namespace), peers(namespace), peers(namespace)];
    const [toA, toB, toC] = [heard(a), heard(b), heard(c)];
    await settled(a, b, c);
    const { ms } = await timed(() => a.forget("items", ["k1", "k2"]));
    expect(toB.at(-1)).toEqual(["k1", "k2"]);
    expect(toC.at(-1)).toEqual(["k1", "k2"]);
    expect(toA.at(-1)).toEqual(["k1", "k2"]);
    // Answered by acknowledgements, not by waiting the lease out.
    expect(ms).toBeLessThan(LEASE_MS / 2);
    // Other caches' listeners hear nothing of it.
    const other = heard(b, "others");
    await a.forget("items", ["k3"]);
    expect(other).toEqual([]);
  });

  it("gathers the forgets asked for in one turn into one message", async () => {
    const namespace = uniqueNamespace();
    const [a, b] = [peers(namespace), peers(namespace)];
    const toB = heard(b);
    await settled(a, b);
    await Promise.all([a.forget("items", ["x"]), a.forget("items", ["y", "x"])]);
    expect(toB.slice(-1)).toEqual([["x", "y"]]);
  });

  it("a writer whose subscription is younger than a lease waits until it is a lease old", async () => {
    const namespace = uniqueNamespace();
    const [a, b] = [peers(namespace), peers(namespace)];
    await waitFor("peers in sync", () => a.inSync() && b.inSync(), 5_000);
    // a's first lease began at most one poll of waitFor ago.
    const syncedAt = performance.now();
    await a.forget("items", ["k"]);
    expect(performance.now() - syncedAt).toBeGreaterThanOrEqual(LEASE_MS - 100);
    // Once it is, acknowledgements alone settle a forget.
    const { ms } = await timed(() => a.forget("items", ["k"]));
    expect(ms).toBeLessThan(LEASE_MS / 2);
  });

  it("a process that never acknowledges holds a writer for one lease, and no longer", async () => {
    const namespace = uniqueNamespace();
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const a = peers(namespace, metrics);
    // A process that pings (so it could hold a lease) but never answers a forget.
    const ghost = createClient({ url: server.url });
    await ghost.connect();
    const pinging = setInterval(() => {
      // A publish still in flight when the ghost is destroyed fails: that is expected.
      ghost.publish(`${namespace}:cache-peers`, JSON.stringify({ p: "ghost", i: 1 })).catch(() => {});
    }, LEASE_MS / 5);
    try {
      await settled(a);
      const { ms } = await timed(() => a.forget("items", ["k"]));
      expect(ms).toBeGreaterThanOrEqual(LEASE_MS - 20);
      expect(ms).toBeLessThan(LEASE_MS * 3);
      const text = await metrics.getSingleMetricAsString("cache_peer_forget_timeouts_total");
      expect(text).toMatch(/cache_peer_forget_timeouts_total 1$/m);
    } finally {
      clearInterval(pinging);
      ghost.destroy();
    }
  });

  it("a process that closes stops holding writers at once", async () => {
    const namespace = uniqueNamespace();
    const [a, b] = [peers(namespace), peers(namespace)];
    await settled(a, b);
    await b.close();
    await sleep(50);
    const { ms } = await timed(() => a.forget("items", ["k"]));
    expect(ms).toBeLessThan(LEASE_MS / 2);
    expect(b.inSync()).toBe(false);
  });

  it("a hung Redis: L1 stops answering within the lease, writers wait it out, and everything is dropped before L1 answers again", async () => {
    const namespace = uniqueNamespace();
    const [a, b] = [peers(namespace), peers(namespace)];
    const toB = heard(b);
    await settled(a, b);
    const heardBefore = toB.length;
    server.pause();
    const pausedAt = performance.now();
    await waitFor("leases lapsed", () => !a.inSync() && !b.inSync(), 5_000);
    // No ping came back after the pause, so the lease ran out a lease after the last one sent.
    expect(performance.now() - pausedAt).toBeLessThanOrEqual(LEASE_MS + 100);
    const { ms } = await timed(() => a.forget("items", ["k"]));
    expect(ms).toBeGreaterThanOrEqual(LEASE_MS - 20);
    server.resume();
    await waitFor("leases back", () => a.inSync() && b.inSync(), 5_000);
    // Before answering again, b was told to drop everything it held.
    expect(toB.slice(heardBefore)).toContain(undefined);
  });

  it("a forget Redis could not take is published again once Redis is back", async () => {
    const namespace = uniqueNamespace();
    const [a, b] = [peers(namespace), peers(namespace)];
    const toB = heard(b);
    await settled(a, b);
    await server.kill();
    await waitFor("leases lost", () => !a.inSync() && !b.inSync(), 5_000);
    // Not taken: the writer answers after a lease, and keeps the keys to send again.
    await a.forget("items", ["lost-while-down"]);
    await server.start();
    await waitFor(
      "the forget arrives after all",
      () => toB.some((keys) => keys?.includes("lost-while-down")),
      10_000,
    );
  });

  it("a restarted Redis: a process that lost its subscription drops everything once it is back", async () => {
    const namespace = uniqueNamespace();
    const a = peers(namespace);
    const toA = heard(a);
    await settled(a);
    const heardBefore = toA.length;
    await server.kill();
    await waitFor("lease lost", () => !a.inSync(), 5_000);
    await server.start();
    await waitFor("lease back", () => a.inSync(), 10_000);
    expect(toA.slice(heardBefore)).toEqual([undefined]);
  });
});
