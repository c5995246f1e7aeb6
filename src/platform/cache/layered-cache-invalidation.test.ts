/**
 * LayeredCache's writes in one process: invalidate, set and forgetLocally, and the stale marks
 * that keep a read or load already in flight from filling either layer afterwards.
 * docs/cache-protocol.md, "Building blocks" and "(b)".
 */
import { describe, expect, it, vi } from "vitest";
import {
  cache,
  codec,
  type Deferred,
  deferred,
  GatedStore,
  gatedSource,
  type Item,
  settle,
  source,
} from "../../../test/support/cache-test-support.js";
import { MemorySecondLevelStore } from "./second-level-store.js";

describe("LayeredCache: invalidate", () => {
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
});

describe("LayeredCache: writes racing reads", () => {
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
});
