/**
 * LayeredCache's full reload (reloadAll, replaceAll): L1 replaced, L2 brought in line, and never
 * an older value written over a newer one, in this process or another.
 * docs/cache-protocol.md, "The scheduled full reload".
 */
import { describe, expect, it, vi } from "vitest";
import {
  cache,
  codec,
  deferred,
  heldCatalog,
  type Item,
  settle,
  sleep,
  source,
} from "../../../test/support/cache-test-support.js";
import { MemorySecondLevelStore } from "./second-level-store.js";

describe("LayeredCache reload in one process", () => {
  it("reloadAll replaces L1, writes L2, and keeps writes made while it loaded", async () => {
    const { rows, load } = source();
    const l2 = new MemorySecondLevelStore();
    const c = cache({ load, l2 });
    rows.set("gone", { id: "gone", version: 1 });
    await c.get("gone");

    const gate = deferred<Array<[string, Item]>>();
    const reload = c.reloadAll(() => gate.promise);
    // While the reload reads the catalog: a is updated and invalidated, b written through.
    rows.set("a", { id: "a", version: 2 });
    await c.invalidate("a");
    const b2 = { id: "b", version: 2 };
    await c.set("b", b2);
    gate.resolve([
      ["a", { id: "a", version: 1 }],
      ["b", { id: "b", version: 1 }],
      ["c", { id: "c", version: 1 }],
    ]);
    await reload;

    expect(c.getIfPresent("gone")).toBeUndefined();
    expect(c.getIfPresent("a")).toBeUndefined();
    expect(l2.peek("items:a")).toBeUndefined();
    expect(c.getIfPresent("b")).toBe(b2);
    expect(codec.decode(l2.peek("items:b") ?? "null").version).toBe(2);
    expect(c.getIfPresent("c")?.version).toBe(1);
    expect(l2.peek("items:c")).toBeDefined();
    const loads = load.mock.calls.length;
    expect((await c.get("a"))?.version).toBe(2);
    expect(load.mock.calls.length).toBe(loads + 1);
  });

  it("reloadAll respects maxEntries in L1 but fills every entry into L2", async () => {
    const { load } = source();
    const l2 = new MemorySecondLevelStore();
    const c = cache({ load, l2, maxEntries: 2 });
    await c.reloadAll(async () => ["a", "b", "c"].map((id) => [id, { id, version: 1 }] as const));
    expect(c.size).toBe(2);
    expect(["a", "b", "c"].map((id) => l2.peek(`items:${id}`) !== undefined)).toEqual([true, true, true]);
  });

  it("replaceAll (entries read before the L2 reads) replaces L1 but fills nothing into L2", async () => {
    const { load } = source();
    const l2 = new MemorySecondLevelStore();
    const c = cache({ load, l2, maxEntries: 2 });
    await c.replaceAll(["a", "b", "c"].map((id) => [id, { id, version: 1 }] as const));
    expect(c.size).toBe(2);
    expect(l2.counts.fill).toBe(0);
    expect(["a", "b", "c"].every((id) => l2.peek(`items:${id}`) === undefined)).toBe(true);
  });
});

describe("LayeredCache full reload across processes", () => {
  it("a full reload in one process never writes its older value over another process's write", async () => {
    const { rows, load } = source();
    for (const id of ["x", "y", "z"]) rows.set(id, { id, version: 1 });
    const l2 = new MemorySecondLevelStore();
    const a = cache({ load, l2, readThroughL2: true });
    const b = cache({ load, l2, readThroughL2: true });
    const catalog = heldCatalog(rows);
    const reload = b.reloadAll(catalog.loadAll);
    await settle();
    // While B reads the catalog: A writes x (and invalidates); A writes y, invalidates, and a
    // read through A puts the new y into L2.
    rows.set("x", { id: "x", version: 2 });
    await a.invalidate("x");
    rows.set("y", { id: "y", version: 2 });
    await a.invalidate("y");
    expect((await a.get("y"))?.version).toBe(2);
    await a.flushWrites();
    catalog.release();
    await reload;
    expect(catalog.reads).toEqual(["held", "fresh"]);
    // x held A's tombstone: filled from the second read of the catalog (version 2), never 1.
    expect(codec.decode(l2.peek("items:x") ?? "null").version).toBe(2);
    // y held another value than the reload's: tombstoned (it could be the stale one).
    expect(l2.tombstoned("items:y")).toBe(true);
    expect(codec.decode(l2.peek("items:z") ?? "null").version).toBe(1);
    expect((await b.get("y"))?.version).toBe(2);
  });

  it("a full reload never resurrects an old value, even when the writer's tombstone is gone before its L2 read", async () => {
    const { rows, load } = source();
    rows.set("x", { id: "x", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const a = cache({ load, l2, readThroughL2: true });
    const b = cache({ load, l2, readThroughL2: true });
    const catalog = heldCatalog(rows);
    const reload = b.reloadAll(catalog.loadAll); // reads x version 1…
    await settle();
    rows.set("x", { id: "x", version: 2 }); // …A's write commits
    await a.invalidate("x");
    l2.wipe(); // L2 restarted empty (or the tombstone was evicted) before B's reload reads it
    catalog.release();
    await reload;
    expect(l2.peek("items:x") === undefined || codec.decode(l2.peek("items:x") ?? "").version === 2).toBe(
      true,
    );
    expect((await a.get("x"))?.version).toBe(2);
    expect((await b.get("x"))?.version).toBe(2);
  });

  it("a full reload's fill is refused when the key is invalidated after the reload's L2 read", async () => {
    const { rows, load } = source();
    rows.set("x", { id: "x", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const a = cache({ load, l2, readThroughL2: true });
    const b = cache({ load, l2, readThroughL2: true });
    // The second read of the catalog reads x version 1, and A's write commits and invalidates
    // before that read answers (after B's L2 read left its marker on x).
    const second = deferred<void>();
    let calls = 0;
    const reload = b.reloadAll(async () => {
      const snapshot = [...rows.entries()];
      if (++calls === 2) await second.promise;
      return snapshot;
    });
    await vi.waitFor(() => expect(calls).toBe(2));
    expect(l2.marked("items:x")).toBe(true);
    rows.set("x", { id: "x", version: 2 });
    await a.invalidate("x");
    second.resolve();
    await reload;
    expect(l2.counts.refused).toBe(1);
    expect(l2.tombstoned("items:x")).toBe(true);
    expect((await b.get("x"))?.version).toBe(2);
  });
});

describe("LayeredCache full reload: token lifetimes and repairs", () => {
  it("a full reload's fill is not sent once its marker may have expired, counted from its L2 read", async () => {
    const { rows, load } = source();
    rows.set("x", { id: "x", version: 1 });
    rows.set("y", { id: "y", version: 1 });
    const l2 = new MemorySecondLevelStore();
    const b = cache({ load, l2, readThroughL2: true, l2TombstoneTtlMs: 200 });

    // A slow first read of the catalog does not matter: the markers are left after it.
    let first = 0;
    await b.reloadAll(async () => {
      if (++first === 1) await sleep(220);
      return [["x", rows.get("x") as Item]];
    });
    expect(first).toBe(2);
    expect(l2.counts.fill).toBe(1);
    expect(codec.decode(l2.peek("items:x") ?? "null").version).toBe(1);

    // A second read that outlives the marker: the fill would be refused, and is not sent.
    let calls = 0;
    await b.reloadAll(async () => {
      if (++calls === 2) await sleep(220);
      return [["y", rows.get("y") as Item]];
    });
    expect(calls).toBe(2);
    expect(l2.counts.fill).toBe(1);
    expect(l2.peekRaw("items:y")).toBeUndefined();
  });

  it("a full reload repairs an L2 value changed behind the cache's back, and leaves an equal one", async () => {
    const { rows, load } = source();
    const l2 = new MemorySecondLevelStore();
    const a = cache({ load, l2, readThroughL2: true });
    rows.set("p", { id: "p", version: 1 });
    rows.set("q", { id: "q", version: 1 });
    await a.get("p");
    await a.get("q");
    await a.flushWrites();
    rows.set("p", { id: "p", version: 2 }); // nothing invalidates: L2 holds a stale p
    const writes = l2.counts.set + l2.counts.fill + l2.counts.invalidate;
    await a.reloadAll(async () => [...rows.entries()]);
    expect(l2.counts.set + l2.counts.fill + l2.counts.invalidate - writes).toBe(1);
    expect(l2.tombstoned("items:p")).toBe(true);
    expect(codec.decode(l2.peek("items:q") ?? "null").version).toBe(1);
    expect((await a.get("p"))?.version).toBe(2);
  });
});
