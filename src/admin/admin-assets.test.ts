/**
 * The bundle is built once per process and shared; a failed build is not retried on every visit
 * (each would start an esbuild process) but after a pause, and then succeeds if it can.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { builtOnce } from "./admin-assets.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("builtOnce", () => {
  it("builds on the first call and gives every later call the same result", async () => {
    const build = vi.fn(async () => ({ bundle: "js" }));
    const assets = builtOnce(build, 30_000);
    const [first, second] = await Promise.all([assets(), assets()]);
    expect(await assets()).toBe(first);
    expect(second).toBe(first);
    expect(build).toHaveBeenCalledTimes(1);
  });

  it("gives a failure to every call for the pause, then builds again", async () => {
    vi.useFakeTimers();
    let attempts = 0;
    const assets = builtOnce(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error("esbuild is missing");
      return "bundle";
    }, 30_000);
    await expect(assets()).rejects.toThrow("esbuild is missing");
    await expect(assets()).rejects.toThrow("esbuild is missing");
    await vi.advanceTimersByTimeAsync(29_999);
    await expect(assets()).rejects.toThrow("esbuild is missing");
    expect(attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await assets()).toBe("bundle");
    expect(attempts).toBe(2);
  });
});
