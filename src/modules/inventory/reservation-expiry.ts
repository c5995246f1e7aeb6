/**
 * Releases stock whose order never came: a reservation not confirmed before it expires (the
 * orders side failed, or its process died, after taking stock). Runs on an interval in every
 * process that hosts inventory, and does the work once in total: each sweep claims the expired
 * reservations it releases (`expired`, FOR UPDATE SKIP LOCKED with a lease), so two processes
 * never take the same one, and releasing is exactly-once per reservation anyway.
 */
import { attemptEach, type IntervalJob, startIntervalJob } from "../../platform/jobs/index.js";
import type { Logger } from "../../platform/logger.js";

export interface ExpiryDeps {
  /** Claims up to `limit` expired reservations for this caller alone; their order ids. */
  expired(now: Date, limit: number): Promise<string[]>;
  release(orderId: string): Promise<unknown>;
  logger: Logger;
  intervalMs: number;
}

const BATCH = 100;

export function startReservationExpiry(deps: ExpiryDeps): IntervalJob {
  const sweep = async (stopped: () => boolean) => {
    // A stop lets the batch in hand finish (it is claimed: left alone, it would wait for its lease
    // to end) and claims no further one.
    while (!stopped()) {
      const orderIds = await deps.expired(new Date(), BATCH);
      const released = await attemptEach(orderIds, deps.release, (error, orderId) =>
        deps.logger.warn({ err: error, orderId }, "could not release an expired reservation"),
      );
      if (released.length > 0)
        deps.logger.info({ count: released.length, orderIds: released }, "released expired reservations");
      if (orderIds.length < BATCH || released.length < orderIds.length) return;
    }
  };
  return startIntervalJob({
    name: "reservation expiry sweep",
    intervalMs: deps.intervalMs,
    logger: deps.logger,
    sweep,
  });
}
