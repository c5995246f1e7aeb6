/**
 * Runs a refresh (e.g. a cache's full reload) on a cron schedule with node-cron. A failing
 * refresh is logged and never thrown; a run that comes due while the previous one is still
 * running is skipped (and logged), so reloads never pile up. What the product cache's reload does:
 * docs/cache-protocol.md, "The scheduled full reload".
 */
import { schedule, validate } from "node-cron";
import type { Logger } from "../logger.js";
import { errorMessage } from "../rate-limited-log.js";

export interface RefreshSchedule {
  /** Stops future runs (a run in progress finishes). Idempotent. */
  stop(): void;
}

/**
 * `cronExpression` has 5 fields, or 6 with seconds first. An invalid expression throws here (a
 * configuration error), not later. The timer does not keep the process alive on its own.
 */
export function scheduleRefresh(
  cronExpression: string,
  refresh: () => Promise<void>,
  logger: Logger,
  options: { name?: string } = {},
): RefreshSchedule {
  if (!validate(cronExpression)) throw new Error(`invalid cron expression "${cronExpression}"`);
  const name = options.name ?? "refresh";
  let running = false;
  let stopped = false;

  const run = async (): Promise<void> => {
    if (stopped) return;
    if (running) {
      logger.warn({ schedule: name }, "scheduled refresh skipped: the previous run is still going");
      return;
    }
    running = true;
    const startedAt = performance.now();
    try {
      await refresh();
      logger.debug(
        { schedule: name, ms: Math.round(performance.now() - startedAt) },
        "scheduled refresh done",
      );
    } catch (error) {
      logger.error({ schedule: name, err: errorMessage(error) }, "scheduled refresh failed");
    } finally {
      running = false;
    }
  };

  const task = schedule(
    cronExpression,
    () => {
      // Not returned to node-cron: its own overlap and failure handling stay out of the way.
      void run();
    },
    {
      name,
      unref: true,
      logger: {
        info: (message) => logger.debug({ schedule: name }, message),
        warn: (message) => logger.warn({ schedule: name }, message),
        error: (message, err) =>
          logger.error({ schedule: name, err: errorMessage(err ?? message) }, String(message)),
        debug: (message) => logger.debug({ schedule: name }, String(message)),
      },
    },
  );

  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      const failed = (error: unknown) =>
        logger.warn({ schedule: name, err: errorMessage(error) }, "stopping a refresh schedule failed");
      try {
        Promise.resolve(task.destroy()).catch(failed);
      } catch (error) {
        failed(error);
      }
    },
  };
}
