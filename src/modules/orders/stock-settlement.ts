/**
 * Carries out what the orders module still owes inventory when the request that owed it could not:
 * the process died between storing an order and confirming its reservation, or inventory was
 * unreachable when an order was cancelled. Runs on an interval in every process hosting orders;
 * commands are claimed with a lease (FOR UPDATE SKIP LOCKED), so each is handled by one of them.
 *
 * A stored order whose reservation already lapsed (its stock went back before anyone confirmed
 * it, e.g. the orders process stayed down longer than the reservation timeout) must not keep
 * stock it no longer holds: a pending one is cancelled, anything further along is logged for an
 * operator.
 */
import { attemptEach, type IntervalJob, startIntervalJob } from "../../platform/jobs/index.js";
import type { Logger } from "../../platform/logger.js";
import type { StockCommand, StockCommandStore } from "./stock-command-store.js";

/** What became of a stored order's reservation when it was confirmed. */
export type Confirmation = "confirmed" | "released" | "unknown";

export interface SettlementDeps {
  commands: StockCommandStore;
  /** Confirms the reservations of stored orders, one outcome per order id. */
  confirm(orderIds: string[]): Promise<Map<string, Confirmation>>;
  /** Returns a cancelled order's stock (exactly once in inventory, however often it is called). */
  release(orderId: string): Promise<void>;
  /** Cancels a still pending order whose stock lapsed; false when it was no longer pending. */
  cancelLapsed(orderId: string): Promise<boolean>;
  logger: Logger;
  intervalMs: number;
  /** How long a claimed command is this process's before another may take it. */
  leaseMs: number;
  /**
   * How soon a command whose attempt failed (inventory unreachable) is tried again: much sooner
   * than the lease, so the stock returns soon after inventory does.
   */
  retryMs: number;
}

const BATCH = 200;

/**
 * Returns a cancelled order's stock now if inventory answers: exactly once in inventory, however
 * often it is asked. The cancellation was stored with the release it owes, so an unreachable
 * inventory delays the stock's return (the settlement job retries) rather than failing a
 * cancellation that already happened.
 */
export async function returnCancelledStock(
  deps: Pick<SettlementDeps, "release" | "commands" | "logger">,
  orderId: string,
): Promise<void> {
  await deps
    .release(orderId)
    .then(() => deps.commands.settled("release", [orderId]))
    .catch((error: unknown) => {
      deps.logger.warn({ err: error, orderId }, "stock of a cancelled order not returned yet; will retry");
    });
}

export function startStockSettlement(deps: SettlementDeps): IntervalJob {
  const { commands, logger } = deps;

  const retryLater = (action: StockCommand["action"], orderIds: string[]) =>
    commands.postpone(action, orderIds, new Date(Date.now() + deps.retryMs));

  const settleConfirmations = async (orderIds: string[]) => {
    if (orderIds.length === 0) return;
    let outcomes: Map<string, Confirmation>;
    try {
      outcomes = await deps.confirm(orderIds);
    } catch (error) {
      logger.warn({ err: error, count: orderIds.length }, "could not confirm stored orders' stock yet");
      await retryLater("confirm", orderIds);
      return;
    }
    for (const [orderId, outcome] of outcomes) {
      if (outcome === "confirmed") continue;
      const cancelled = await deps.cancelLapsed(orderId);
      logger.error(
        { orderId, outcome, cancelled },
        cancelled
          ? "the stock of a stored order had lapsed before it was confirmed: the order is cancelled"
          : "the stock of a stored order had lapsed before it was confirmed, and the order is past pending: an operator must decide",
      );
    }
    await commands.settled("confirm", orderIds);
  };

  const settleReleases = async (orderIds: string[]) => {
    const released = await attemptEach(orderIds, deps.release, (error, orderId) =>
      logger.warn({ err: error, orderId }, "could not return the stock of a cancelled order yet"),
    );
    await commands.settled("release", released);
    await retryLater(
      "release",
      orderIds.filter((orderId) => !released.includes(orderId)),
    );
  };

  const sweep = async (stopped: () => boolean) => {
    while (!stopped()) {
      const due: StockCommand[] = await commands.claimDue(new Date(), BATCH, deps.leaseMs);
      if (due.length === 0) return;
      const of = (action: StockCommand["action"]) =>
        due.filter((command) => command.action === action).map((command) => command.orderId);
      await settleConfirmations(of("confirm"));
      await settleReleases(of("release"));
      logger.info({ count: due.length }, "settled stock commands left by their requests");
      if (due.length < BATCH) return;
    }
  };

  return startIntervalJob({ name: "stock settlement sweep", intervalMs: deps.intervalMs, logger, sweep });
}
