/**
 * LayeredCache with peers (processes told of every write through the freshness lease; in memory
 * here, over Redis in redis-cache-peers.test.ts): L1 answers only under the lease, a write is
 * answered only once every process forgot the key, after its L2 tombstone, and a process that
 * may have missed forgets keeps nothing from before. docs/cache-protocol.md, "(e)".
 */
import { describe, expect, it } from "vitest";
import {
  cache,
  deferred,
  gatedSource,
  MemoryPeerNetwork,
  settle,
  source,
} from "../../../test/support/cache-test-support.js";
import { MemorySecondLevelStore } from "./second-level-store.js";

/** Two processes sharing an L2 and a peer network, reading the same source. */
function twoProcesses() {
  const network = new MemoryPeerNetwork();
  const { rows, load } = source();
  const l2 = new MemorySecondLevelStore();
  const peerA = network.peer();
  const peerB = network.peer();
  const a = cache({ load, l2, readThroughL2: true, peers: peerA });
  const b = cache({ load, l2, readThroughL2: true, peers: peerB });
  return { network, rows, load, l2, a, b, peerA, peerB };
}

describe("LayeredCache with peers", () => {
  it("answers from L1 under the lease, with no L2 read; without it, reads go through L2 every time", async () => {
    const { rows, load, l2, a, peerA } = twoProcesses();
    rows.set("k", { id: "k", version: 1 });
    await a.get("k");
    const l2Reads = l2.counts.get;
    for (let i = 0; i < 5; i++) expect(a.getIfPresent("k")?.version).toBe(1);
    expect((await a.get("k"))?.version).toBe(1);
    expect(l2.counts.get).toBe(l2Reads);
    expect(load).toHaveBeenCalledTimes(1);

    peerA.synced = false;
    expect(a.getIfPresent("k")).toBeUndefined();
    await a.get("k");
    await a.get("k");
    expect(l2.counts.get).toBe(l2Reads + 2);
  });

  it("a write through one process is answered only once the other forgot its copy, after the L2 tombstone", async () => {
    const { network, rows, l2, a, b } = twoProcesses();
    rows.set("k", { id: "k", version: 1 });
    await b.get("k");
    expect(b.getIfPresent("k")?.version).toBe(1);
    // A third process notes whether L2 held the tombstone when the forget reached it.
    let tombstonedFirst: boolean | undefined;
    network.peer().listen("items", () => {
      tombstonedFirst ??= l2.tombstoned("items:k");
    });
    rows.set("k", { id: "k", version: 2 });
    network.forgetGate = deferred();
    let answered = false;
    const write = a.invalidate("k").then(() => {
      answered = true;
    });
    await settle();
    expect(network.published).toEqual([{ name: "items", keys: ["k"] }]);
    expect(tombstonedFirst).toBe(true);
    expect(b.getIfPresent("k")).toBeUndefined();
    // Until every process has acknowledged, the write is not answered.
    expect(answered).toBe(false);
    network.forgetGate.resolve();
    await write;
    expect((await b.get("k"))?.version).toBe(2);
  });

  it("set tells the peers too", async () => {
    const { rows, a, b } = twoProcesses();
    rows.set("k", { id: "k", version: 1 });
    await b.get("k");
    await a.set("k", { id: "k", version: 3 });
    expect(b.getIfPresent("k")).toBeUndefined();
    expect((await b.get("k"))?.version).toBe(3);
  });

  it("a full reload tells the peers of every key whose shared value it replaced, and of no other", async () => {
    const { network, rows, l2, a } = twoProcesses();
    for (const id of ["same", "changed", "empty"]) rows.set(id, { id, version: 1 });
    await a.get("same");
    await a.get("changed");
    await a.flushWrites();
    // Changed behind the cache's back: the row and its copies elsewhere are now old.
    rows.set("changed", { id: "changed", version: 2 });
    const publishedBefore = network.published.length;
    const edge = network.peer();
    const dropped: (readonly string[] | undefined)[] = [];
    edge.listen("items", (keys) => dropped.push(keys));
    await a.reloadAll(async () => [...rows.entries()]);
    expect(network.published.slice(publishedBefore)).toEqual([{ name: "items", keys: ["changed", "empty"] }]);
    expect(dropped).toEqual([["changed", "empty"]]);
    expect(l2.tombstoned("items:changed")).toBe(true);
  });

  it("a lease regained after a lapse drops every copy, and keeps loads in flight from filling", async () => {
    const network = new MemoryPeerNetwork();
    const { rows, load, next } = gatedSource();
    rows.set("k", { id: "k", version: 1 });
    rows.set("m", { id: "m", version: 1 });
    const peer = network.peer();
    const c = cache({ load, peers: peer });
    const first = c.get("k");
    await settle();
    next();
    await first;
    expect(c.getIfPresent("k")?.version).toBe(1);
    const inFlight = c.get("m");
    await settle();
    peer.lapse();
    next();
    expect((await inFlight)?.version).toBe(1);
    expect(c.getIfPresent("k")).toBeUndefined();
    expect(c.getIfPresent("m")).toBeUndefined();
  });

  it("without L2 (a gateway's copy): a get after a peer's forget never joins a load that began before it", async () => {
    const network = new MemoryPeerNetwork();
    const { rows, load, next } = gatedSource();
    rows.set("k", { id: "k", version: 1 });
    const peer = network.peer();
    const c = cache({ load, peers: peer });
    const before = c.get("k"); // reads version 1, held
    await settle();
    rows.set("k", { id: "k", version: 2 });
    await network.peer().forget("items", ["k"]); // the writer, in another process
    const after = c.get("k");
    await settle();
    expect(load).toHaveBeenCalledTimes(2);
    next();
    next();
    expect((await before)?.version).toBe(1);
    expect((await after)?.version).toBe(2);
    expect(c.getIfPresent("k")?.version).toBe(2);
  });

  it("while out of sync, a get does not join a load already in flight", async () => {
    const network = new MemoryPeerNetwork();
    const { rows, load, next } = gatedSource();
    rows.set("k", { id: "k", version: 1 });
    const peer = network.peer();
    peer.synced = false;
    const c = cache({ load, peers: peer });
    const first = c.get("k");
    await settle();
    const second = c.get("k");
    await settle();
    next();
    await settle();
    next();
    await Promise.all([first, second]);
    expect(load).toHaveBeenCalledTimes(2);
  });
});
