/**
 * Stock hoarding (OWASP OAT-021, denial of inventory): an order still `pending` after
 * PENDING_ORDER_TTL_SECONDS is cancelled by the system, its stock returns and its
 * `order.status_changed` event is emitted, as for a customer's cancellation. Every process
 * hosting orders sweeps; each order is cancelled exactly once across them, because the
 * cancellation is a change from `pending` that only one of them can make (OrderStore.changeStatus).
 */
import { type IntervalJob, startIntervalJob } from "../../platform/jobs/index.js";
import type { Logger } from "../../platform/logger.js";
import type { OrderStore } from "./order-store.js";

export interface PendingOrderExpiryDeps {
  orders: Pick<OrderStore, "pendingBefore" | "changeStatus">;
  /** Returns a cancelled order's stock (or leaves it owed to the settlement job). */
  returnStock(orderId: string): Promise<void>;
  onEventsCommitted(): void;
  logger: Logger;
  ttlMs: number;
  intervalMs: number;
}

const BATCH = 100;

export function startPendingOrderExpiry(deps: PendingOrderExpiryDeps): IntervalJob {
  return startIntervalJob({
    name: "pending order expiry",
    intervalMs: deps.intervalMs,
    logger: deps.logger,
    sweep: async (stopped) => {
      let expired = 0;
      while (!stopped()) {
        const ids = await deps.orders.pendingBefore(new Date(Date.now() - deps.ttlMs), BATCH);
        for (const id of ids) {
          // Undefined when another process (or the customer, or an admin) changed it first.
          const cancelled = await deps.orders.changeStatus(id, "pending", "cancelled");
          if (cancelled === undefined) continue;
          expired++;
          deps.onEventsCommitted();
          await deps.returnStock(id);
        }
        if (ids.length < BATCH) break;
      }
      if (expired > 0) deps.logger.info({ expired }, "cancelled orders left pending too long");
    },
  });
}
