/**
 * Logging a failure that repeats without flooding the log, the platform's two ways: by time (a
 * dependency down under request load: at most one line per interval) and by count (a retry loop:
 * the first failure in a row, then every n-th).
 */
import type { Logger } from "./logger.js";

/**
 * A warning logger that writes at most one line per `intervalMs`, adding how many were
 * suppressed since the last line — so a dependency that is down does not flood the log with one
 * line per request.
 */
export function rateLimitedWarn(
  logger: Logger | undefined,
  intervalMs: number,
): (fields: Record<string, unknown>, message: string) => void {
  let lastAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (fields, message) => {
    if (logger === undefined) return;
    const now = Date.now();
    if (now - lastAt < intervalMs) {
      suppressed++;
      return;
    }
    lastAt = now;
    logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
    suppressed = 0;
  };
}

/** Whether the `failures`-th failure in a row is logged: the first, then every `every`-th. */
export function logsFailure(failures: number, every: number): boolean {
  return failures === 1 || failures % every === 0;
}

/** The message of an unknown thrown value, for log fields. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
