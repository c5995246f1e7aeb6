/**
 * Two caches of the same name in one process sharing InProcessCachePeers, as inventory's product
 * cache and the gateway's edge copy do without Redis: the copy reads through the other (its load
 * is the other's get), and every way the other drops a key — a write, an event of a write made
 * elsewhere, a full reload — drops it from the copy before it returns. docs/cache-protocol.md,
 * "(e) L1 under a freshness lease".
 */
import { describe, expect, it, vi } from "vitest";
import { cache, gatedSource, type Item, settle, source } from "../../../test/support/cache-test-support.js";
import { InProcessCachePeers } from "./in-process-cache-peers.js";

/** The source's cache ("inventory") and a copy reading through it ("the gateway's edge copy"). */
function cacheAndCopy() {
  const peers = new InProcessCachePeers();
  const { rows, load } = source();
  const inventory = cache({ load, peers });
  const readThrough = vi.fn((key: string) => inventory.get(key));
  const copy = cache({ load: readThrough, peers });
  return { peers, rows, load, inventory, copy, readThrough };
}

describe("LayeredCache with peers in this process", () => {
  it("the copy answers from its L1 once filled: the cache below is not asked again", async () => {
    const { rows, copy, readThrough } = cacheAndCopy();
    rows.set("k", { id: "k", version: 1 });
    await copy.get("k");
    for (let i = 0; i < 5; i++) expect((await copy.get("k"))?.version).toBe(1);
    expect(copy.getIfPresent("k")?.version).toBe(1);
    expect(readThrough).toHaveBeenCalledTimes(1);
  });

  it("an invalidate drops the copy's key before it returns, with no turn of the event loop", () => {
    const { rows, inventory, copy } = cacheAndCopy();
    rows.set("k", { id: "k", version: 1 });
    return (async () => {
      await copy.get("k");
      rows.set("k", { id: "k", version: 2 });
      const invalidated = inventory.invalidate("k");
      // Synchronously: a read in between (same tick) already misses.
      expect(copy.getIfPresent("k")).toBeUndefined();
      await invalidated;
      expect((await copy.get("k"))?.version).toBe(2);
    })();
  });

  it("a set drops the copy's key and keeps the value it put in its own L1", async () => {
    const { rows, load, inventory, copy } = cacheAndCopy();
    rows.set("k", { id: "k", version: 1 });
    await copy.get("k");
    const loads = load.mock.calls.length;
    rows.set("k", { id: "k", version: 2 });
    await inventory.set("k", { id: "k", version: 2 });
    expect(copy.getIfPresent("k")).toBeUndefined();
    // Its own forget, heard at once, did not drop what it had just put.
    expect(inventory.getIfPresent("k")?.version).toBe(2);
    expect((await copy.get("k"))?.version).toBe(2);
    expect(load).toHaveBeenCalledTimes(loads);
  });

  it("forgetLocally (a write made by another process, learned from its event) drops the copy's key too", async () => {
    const { rows, inventory, copy } = cacheAndCopy();
    rows.set("k", { id: "k", version: 1 });
    rows.set("other", { id: "other", version: 1 });
    await copy.get("k");
    await copy.get("other");
    rows.set("k", { id: "k", version: 2 });
    inventory.forgetLocally("k");
    expect(copy.getIfPresent("k")).toBeUndefined();
    expect(copy.getIfPresent("other")?.version).toBe(1);
    expect((await copy.get("k"))?.version).toBe(2);
  });

  it("a full reload without L2 drops from the copy every key it held or brought", async () => {
    const { rows, inventory, copy } = cacheAndCopy();
    rows.set("changed", { id: "changed", version: 1 });
    rows.set("gone", { id: "gone", version: 1 });
    await copy.get("changed");
    await copy.get("gone");
    // Changed behind the caches' backs (not through them): only the reload repairs it.
    rows.set("changed", { id: "changed", version: 2 });
    rows.delete("gone");
    await inventory.reloadAll(async () => [...rows.entries()]);
    expect(copy.getIfPresent("changed")).toBeUndefined();
    expect(copy.getIfPresent("gone")).toBeUndefined();
    expect((await copy.get("changed"))?.version).toBe(2);
    expect(await copy.get("gone")).toBeUndefined();
  });

  it("a full reload without L2 empties the copy, keys the reloading cache had evicted included", async () => {
    const peers = new InProcessCachePeers();
    const { rows, load } = source();
    // Inventory's L1 holds one product: the copy's hits never refresh it, so it evicts what the
    // copy serves most.
    const inventory = cache({ load, peers, maxEntries: 1 });
    const copy = cache({ load: (key) => inventory.get(key), peers });
    for (const id of ["popular", "other"]) rows.set(id, { id, version: 1 });
    await copy.get("popular");
    await copy.get("other");
    expect(inventory.getIfPresent("popular")).toBeUndefined();
    // Deleted behind the caches' backs: the reload neither holds nor brings it.
    rows.delete("popular");
    await inventory.reloadAll(async () => [...rows.entries()]);
    expect(copy.getIfPresent("popular")).toBeUndefined();
    expect(copy.size).toBe(0);
    expect(await copy.get("popular")).toBeUndefined();
    expect(inventory.getIfPresent("other")?.version).toBe(1);
  });

  it("a read in flight when the key is invalidated fills neither cache", async () => {
    const peers = new InProcessCachePeers();
    const gated = gatedSource();
    const inventory = cache({ load: gated.load, peers });
    const copy = cache({ load: (key) => inventory.get(key), peers });
    gated.rows.set("k", { id: "k", version: 1 });
    const read = copy.get("k");
    await settle();
    expect(gated.pending).toHaveLength(1);
    gated.rows.set("k", { id: "k", version: 2 });
    await inventory.invalidate("k");
    gated.next();
    // The read that started before the write may answer the old row; nothing keeps it.
    expect((await read)?.version).toBe(1);
    expect(copy.getIfPresent("k")).toBeUndefined();
    expect(inventory.getIfPresent("k")).toBeUndefined();
  });

  it("concurrent misses of a key share one flight (in this process a write marks flights stale itself)", async () => {
    const peers = new InProcessCachePeers();
    const gated = gatedSource();
    const inventory = cache({ load: gated.load, peers });
    gated.rows.set("k", { id: "k", version: 1 });
    const first = inventory.get("k");
    await settle();
    const second = inventory.get("k");
    await settle();
    gated.next();
    const values: (Item | undefined)[] = [await first];
    // A second load, had the second get waited for its own flight, is let through too.
    await settle();
    gated.next();
    values.push(await second);
    expect(values.map((value) => value?.version)).toEqual([1, 1]);
    expect(gated.load).toHaveBeenCalledTimes(1);
  });
});
