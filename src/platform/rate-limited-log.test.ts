import { afterEach, describe, expect, it, vi } from "vitest";
import type { Logger } from "./logger.js";
import { logsFailure, rateLimitedWarn } from "./rate-limited-log.js";

describe("logsFailure", () => {
  it("logs the first failure in a row, then every n-th", () => {
    const logged = Array.from({ length: 45 }, (_, i) => i + 1).filter((failures) =>
      logsFailure(failures, 20),
    );
    expect(logged).toEqual([1, 20, 40]);
  });
});

describe("rateLimitedWarn", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes at most one line per interval, counting the ones it held back", () => {
    vi.useFakeTimers();
    const lines: [Record<string, unknown>, string][] = [];
    const logger = {
      warn: (fields: Record<string, unknown>, message: string) => lines.push([fields, message]),
    };
    const warn = rateLimitedWarn(logger as unknown as Logger, 1_000);
    warn({ n: 1 }, "down");
    warn({ n: 2 }, "down");
    warn({ n: 3 }, "down");
    vi.advanceTimersByTime(1_000);
    warn({ n: 4 }, "down");
    expect(lines).toEqual([
      [{ n: 1 }, "down"],
      [{ n: 4, suppressed: 2 }, "down"],
    ]);
  });
});
