import { describe, expect, it } from "vitest";
import { withTimeout } from "./with-timeout.js";

describe("withTimeout", () => {
  it("settles as the promise does when it is in time", async () => {
    await expect(withTimeout(Promise.resolve(7), 1_000, () => new Error("late"))).resolves.toBe(7);
    await expect(
      withTimeout(Promise.reject(new Error("no")), 1_000, () => new Error("late")),
    ).rejects.toThrow("no");
  });

  it("fails with the timeout's error when the promise is late, and ignores its late failure", async () => {
    const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("too late")), 50));
    await expect(withTimeout(late, 10, () => new Error("timed out"))).rejects.toThrow("timed out");
    // The late rejection must not surface as an unhandled rejection (vitest would fail the run).
    await new Promise((resolve) => setTimeout(resolve, 80));
  });
});
