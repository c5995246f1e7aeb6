/**
 * A background sweep run every `intervalMs`, never two at once in this process. `stop()` lets the
 * sweep in progress finish (work it claimed would otherwise wait for its lease to end) and starts
 * no other; a sweep should check `stopped()` between batches.
 */
import type { Logger } from "../logger.js";

export interface IntervalJob {
  stop(): Promise<void>;
}

export function startIntervalJob(options: {
  /** For the log line when a sweep fails. */
  name: string;
  intervalMs: number;
  logger: Logger;
  sweep(stopped: () => boolean): Promise<void>;
}): IntervalJob {
  let running: Promise<void> | undefined;
  let stopped = false;
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = options
      .sweep(() => stopped)
      .catch((error: unknown) => options.logger.warn({ err: error }, `${options.name} failed`))
      .finally(() => {
        running = undefined;
      });
  }, options.intervalMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * Runs `work` for each claimed item in turn and returns the ones it succeeded for; a failure is
 * logged and left claimed, to be tried again (here or in another process) once its lease is over.
 */
export async function attemptEach(
  items: readonly string[],
  work: (item: string) => Promise<unknown>,
  logFailure: (error: unknown, item: string) => void,
): Promise<string[]> {
  const done: string[] = [];
  for (const item of items) {
    try {
      await work(item);
      done.push(item);
    } catch (error) {
      logFailure(error, item);
    }
  }
  return done;
}
