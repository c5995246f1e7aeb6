import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.js";

describe("backoffDelay", () => {
  it("doubles from the initial delay with each failure in a row, up to the cap", () => {
    const backoff = { initialMs: 100, maxMs: 1_000 };
    expect([0, 1, 2, 3, 4, 5, 6].map((failures) => backoffDelay(backoff, failures))).toEqual([
      100, 100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it("stays at the cap for any number of failures", () => {
    expect(backoffDelay({ initialMs: 50, maxMs: 5_000 }, 10_000)).toBe(5_000);
  });
});
