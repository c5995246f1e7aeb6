/**
 * LayeredCache across processes sharing one L2: tombstones, fill markers and compare-and-set
 * fills keep a load's old value out of L2, and readThroughL2 sees another process's write at
 * once. docs/cache-protocol.md, "(a) A read miss" and "(b) A write racing a slow load".
 */
import { describe, expect, it } from "vitest";
import {
  cache,
  codec,
  deferred,
  GatedStore,
  replicas,
  settle,
  sleep,
  source,
} from "../../../test/support/cache-test-support.js";
import { isFillMarker, isTombstone } from "./cache-tokens.js";
import { MemorySecondLevelStore } from "./second-level-store.js";

describe("LayeredCache across processes: a load that read the old row", () => {
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
});

describe("LayeredCache across processes: markers and tombstones", () => {
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

  it("a write-through set replaces a tombstone", async () => {
    const { load, l2, a, b } = replicas();
    await a.invalidate("p");
    expect(l2.tombstoned("items:p")).toBe(true);
    await a.set("p", { id: "p", version: 3 });
    expect(codec.decode(l2.peek("items:p") ?? "null").version).toBe(3);
    expect((await b.get("p"))?.version).toBe(3);
    expect(load).not.toHaveBeenCalled();
  });
});

describe("LayeredCache across processes: readThroughL2 and token lifetimes", () => {
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
});
