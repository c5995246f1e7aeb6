import { describe, expect, it } from "vitest";
import { LruMap } from "./lru-map.js";

/** The keys from least to most recently used, found by evicting them one by one. */
function recencyOrder(map: LruMap<number>, keys: string[]): string[] {
  const order: string[] = [];
  for (let filler = 0; order.length < keys.length; filler++) {
    map.put(`filler-${filler}`, -1);
    const gone = keys.find((key) => !order.includes(key) && map.peek(key) === undefined);
    if (gone !== undefined) order.push(gone);
  }
  return order;
}

describe("LruMap", () => {
  it("evicts the least recently used entry past its bound", () => {
    const map = new LruMap<number>(3);
    map.put("a", 1);
    map.put("b", 2);
    map.put("c", 3);
    expect(map.get("a")).toBe(1);
    map.put("d", 4);
    expect(map.peek("b")).toBeUndefined();
    expect([map.peek("a"), map.peek("c"), map.peek("d")]).toEqual([1, 3, 4]);
    expect(map.size).toBe(3);
  });

  it("keeps recency exact when the most recent entry is hit again and again", () => {
    const map = new LruMap<number>(3);
    map.put("a", 1);
    map.put("b", 2);
    map.put("c", 3);
    for (let hit = 0; hit < 3; hit++) expect(map.get("c")).toBe(3);
    expect(map.get("a")).toBe(1);
    expect(map.get("a")).toBe(1);
    expect(recencyOrder(map, ["a", "b", "c"])).toEqual(["b", "c", "a"]);
  });

  it("moves an entry that was the newest before a delete, a clear or a replacement", () => {
    const deleted = new LruMap<number>(3);
    deleted.put("a", 1);
    deleted.put("b", 2);
    deleted.delete("b");
    deleted.put("c", 3);
    deleted.put("b", 2);
    expect(deleted.get("a")).toBe(1);
    expect(recencyOrder(deleted, ["a", "b", "c"])).toEqual(["c", "b", "a"]);

    const replaced = new LruMap<number>(3);
    replaced.put("a", 1);
    replaced.replaceAll(
      new Map([
        ["a", 1],
        ["b", 2],
      ]),
    );
    // "a" was the newest before the replacement, and is now the oldest: a hit must move it.
    expect(replaced.get("a")).toBe(1);
    expect(recencyOrder(replaced, ["a", "b"])).toEqual(["b", "a"]);

    const cleared = new LruMap<number>(3);
    cleared.put("a", 1);
    cleared.clear();
    cleared.put("a", 1);
    cleared.put("b", 2);
    expect(cleared.get("a")).toBe(1);
    expect(recencyOrder(cleared, ["a", "b"])).toEqual(["b", "a"]);
  });
});
