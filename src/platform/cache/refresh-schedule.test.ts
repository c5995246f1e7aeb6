/**
 * scheduleRefresh: runs on its cron schedule, skips a run while the previous one goes, logs
 * failures, stops. docs/cache-protocol.md, "The scheduled full reload".
 */
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import { scheduleRefresh } from "./refresh-schedule.js";

const logger = pino({ level: "silent" });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("scheduleRefresh", () => {
  it("runs the refresh on an every-second schedule, skips overlapping runs and logs failures", async () => {
    const errors = vi.spyOn(logger, "error");
    const warnings = vi.spyOn(logger, "warn");
    // The first run outlives the next tick (which must be skipped), then fails.
    const refresh = vi.fn(async () => {
      await sleep(1_500);
      throw new Error("reload failed");
    });
    const schedule = scheduleRefresh("* * * * * *", refresh, logger, { name: "test" });
    try {
      await vi.waitFor(
        () =>
          expect(errors).toHaveBeenCalledWith(
            expect.objectContaining({ schedule: "test", err: "reload failed" }),
            "scheduled refresh failed",
          ),
        { timeout: 2_900, interval: 20 },
      );
      expect(warnings).toHaveBeenCalledWith(
        expect.objectContaining({ schedule: "test" }),
        expect.stringContaining("skipped"),
      );
      expect(refresh).toHaveBeenCalledTimes(1);
    } finally {
      schedule.stop();
    }
  }, 4_000);

  it("stop() stops further runs", async () => {
    const refresh = vi.fn(async () => {});
    const schedule = scheduleRefresh("* * * * * *", refresh, logger);
    await vi.waitFor(() => expect(refresh).toHaveBeenCalled(), { timeout: 1_500, interval: 10 });
    schedule.stop();
    schedule.stop(); // idempotent
    const count = refresh.mock.calls.length;
    await sleep(1_200);
    expect(refresh).toHaveBeenCalledTimes(count);
  }, 4_000);

  it("rejects an invalid expression at once", () => {
    expect(() => scheduleRefresh("not a cron", async () => {}, logger)).toThrow(/invalid cron/);
  });
});
