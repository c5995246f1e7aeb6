import { describe, expect, it } from "vitest";
import { isUuid, uuidKey, uuidv7 } from "./ids.js";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit millisecond timestamp an id starts with. */
function timeOf(id: string): number {
  return Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16);
}

describe("uuidv7", () => {
  it("is a version 7, RFC 9562 variant UUID carrying the given millisecond timestamp", () => {
    for (const now of [0, 1, 0xff, 0x1_0000_0000, 1_764_000_000_000, 2 ** 48 - 1]) {
      const id = uuidv7(now);
      expect(id).toMatch(V7);
      expect(isUuid(id)).toBe(true);
      expect(timeOf(id)).toBe(now);
    }
    expect(Math.abs(timeOf(uuidv7()) - Date.now())).toBeLessThan(1_000);
  });

  it("sorts by creation time", () => {
    const ids = [1_764_000_000_000, 1_764_000_000_001, 1_764_000_065_536, 1_800_000_000_000].map((now) =>
      uuidv7(now),
    );
    expect([...ids].sort()).toEqual(ids);
  });

  it("never repeats, across many refills of its random pool", () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 20_000 }, () => uuidv7(now)));
    expect(ids.size).toBe(20_000);
    // The random part is spread over every hex digit, not stuck at a pool boundary.
    const lastDigits = new Set([...ids].map((id) => id.slice(-1)));
    expect(lastDigits.size).toBe(16);
  });
});

describe("uuidKey", () => {
  it("keys a UUID in lower case, whatever case it came in, and names nothing else", () => {
    const id = uuidv7();
    expect(uuidKey(id)).toBe(id);
    expect(uuidKey(id.toUpperCase())).toBe(id);
    for (const other of ["", "not-a-uuid", `${id}x`, id.replaceAll("-", "")])
      expect(uuidKey(other)).toBeUndefined();
  });
});
