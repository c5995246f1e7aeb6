/**
 * Releases stock whose order never came: a reservation not confirmed before it expires (the
 * orders side failed, or its process died, after taking stock). Runs on an interval; releasing is
 * exactly-once per reservation, so several processes may run it at once.
 */
import type { Logger } from "../../platform/logger.js";

export interface ExpiryDeps {
  expired(now: Date, limit: number): Promise<string[]>;
  release(orderId: string): Promise<unknown>;
  logger: Logger;
  intervalMs: number;
}

const BATCH = 100;

export function startReservationExpiry(deps: ExpiryDeps): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const sweep = async () => {
    for (;;) {
      const orderIds = await deps.expired(new Date(), BATCH);
      for (const orderId of orderIds) await deps.release(orderId);
      if (orderIds.length > 0) deps.logger.info({ count: orderIds.length }, "released expired reservations");
      if (orderIds.length < BATCH) return;
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = sweep()
      .catch((error: unknown) => deps.logger.warn({ err: error }, "reservation expiry sweep failed"))
      .finally(() => {
        running = undefined;
      });
  }, deps.intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
