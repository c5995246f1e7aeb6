/**
 * StockService: the internal side of ordering. Only modules call it, with the service credential;
 * every other caller is refused (admins change stock through UpdateProduct). Every change of stock invalidates the cached product
 * before the call answers, so a read that follows never shows the old stock.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Product } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import {
  ConfirmReservationsResponseSchema,
  ReleaseReservationResponseSchema,
  type ReserveStockRequest,
  ReserveStockResponseSchema,
  ReserveStocksResponseSchema,
  type StockService,
} from "../../gen/ecommerce/inventory/v1/stock_service_pb.js";
import type { Authenticator } from "../../platform/auth/index.js";
import type { LayeredCache } from "../../platform/cache/index.js";
import { reportHandlerFailure } from "../../platform/errors/index.js";
import { isUuid } from "../../platform/ids.js";
import type { Logger } from "../../platform/logger.js";
import { invalidArgument, notFound, toItemError, Violations } from "../../platform/rpc/index.js";
import { calledInProcess } from "../../platform/transport/index.js";
import type { InvalidatedHere } from "./invalidated-here.js";
import type { ReservationStore, StockChange, StockRequestLine } from "./reservation-store.js";

export const MAX_LINES = 100;
export const MAX_QUANTITY = 1000;
export const MAX_CONFIRMATIONS = 1000;
/** Most reservations one ReserveStocks call may carry. */
export const MAX_RESERVATIONS_PER_CALL = 50;
const ORDER_ID_MAX = 100;
/** Longest caller_database_server: two numbers of at most 20 digits and a colon, with room to spare. */
const SERVER_IDENTITY_MAX = 100;

export interface StockServiceDeps {
  reservations: ReservationStore;
  cache: LayeredCache<Product>;
  auth: Authenticator;
  reservationTimeoutMs: number;
  onEventsCommitted: () => void;
  /** Where the group's repair learns which stock events this process has invalidated itself. */
  invalidatedHere: InvalidatedHere;
  /** The PostgreSQL server the reservations are stored on (Database.serverIdentity). */
  databaseServer: string | undefined;
  /** Where a reservation of ReserveStocks that failed on the server's side is logged. */
  logger: Logger;
}

/** After stock changed: drop the cached products before answering, and wake the event relay. */
export async function afterStockChange(
  deps: Pick<StockServiceDeps, "cache" | "onEventsCommitted" | "invalidatedHere">,
  changes: readonly StockChange[],
): Promise<void> {
  await Promise.all(
    changes.map(({ productIds, eventId }) => {
      // The event is repaired unless every one of its products was tombstoned here.
      const invalidation = Promise.all(productIds.map((id) => deps.cache.invalidate(id))).then((tombstoned) =>
        tombstoned.every(Boolean),
      );
      deps.invalidatedHere.track(eventId, invalidation);
      return invalidation;
    }),
  );
  if (changes.length > 0) deps.onEventsCommitted();
}

export function createStockService(deps: StockServiceDeps): ServiceImpl<typeof StockService> {
  const { reservations, auth } = deps;
  const invalidate = (changes: readonly StockChange[]) => afterStockChange(deps, changes);

  /** One order's reservation, checked and stored; its cached products are not dropped yet. */
  async function reserve(request: ReserveStockRequest, context: HandlerContext) {
    const violations = new Violations();
    checkOrderId(violations, request.orderId);
    if (request.lines.length < 1 || request.lines.length > MAX_LINES) {
      violations.add("items", `must have between 1 and ${MAX_LINES} lines`);
    }
    request.lines.forEach((line, index) => {
      violations.range(`items[${index}].quantity`, line.quantity, 1, MAX_QUANTITY);
    });
    violations.text("caller_database_server", request.callerDatabaseServer, SERVER_IDENTITY_MAX, {
      required: false,
    });
    violations.throwIfAny();
    // A malformed id cannot name a product: the same answer as an unknown one.
    const malformed = request.lines.find((line) => !isUuid(line.productId));
    if (malformed) throw notFound("product", malformed.productId);
    const lines: StockRequestLine[] = request.lines.map(({ productId, quantity }) => ({
      productId,
      quantity,
    }));
    const { reservation, changes } = await reservations.reserve(
      request.orderId,
      lines,
      deps.reservationTimeoutMs,
      // The caller's order commits to this same server after the reservation, so that commit
      // makes the reservation durable too: a caller in this process (this process's orders
      // module, on this process's database), or one that names this server as its own.
      {
        flushedByCaller:
          calledInProcess(context) || isThisServer(deps.databaseServer, request.callerDatabaseServer),
      },
    );
    const response = create(ReserveStockResponseSchema, {
      lines: reservation.lines,
      expiresAt: timestampFromDate(reservation.expiresAt),
    });
    return { response, changes };
  }

  return {
    async reserveStock(request, context) {
      await auth.requireService(context);
      const { response, changes } = await reserve(request, context);
      await invalidate(changes);
      return response;
    },

    async reserveStocks(request, context) {
      await auth.requireService(context);
      const count = request.reservations.length;
      if (count < 1 || count > MAX_RESERVATIONS_PER_CALL) {
        throw invalidArgument([
          {
            field: "reservations",
            message: `must have between 1 and ${MAX_RESERVATIONS_PER_CALL} reservations`,
          },
        ]);
      }
      const settled = await Promise.allSettled(request.reservations.map((item) => reserve(item, context)));
      // Every product whose stock changed is dropped before any order hears of its stock.
      await invalidate(
        settled.flatMap((result) => (result.status === "fulfilled" ? result.value.changes : [])),
      );
      return create(ReserveStocksResponseSchema, {
        outcomes: settled.map((result) =>
          result.status === "fulfilled"
            ? { outcome: { case: "reserved" as const, value: result.value.response } }
            : {
                outcome: {
                  case: "failed" as const,
                  // What ReserveStock alone would have answered: a server failure logged here
                  // once and told without its cause, the caller's mistakes as they are.
                  value: toItemError(reportHandlerFailure(deps.logger, result.reason, context)),
                },
              },
        ),
      });
    },

    async confirmReservations(request, context) {
      await auth.requireService(context);
      const violations = new Violations();
      if (request.orderIds.length < 1 || request.orderIds.length > MAX_CONFIRMATIONS) {
        violations.add("order_ids", `must have between 1 and ${MAX_CONFIRMATIONS} ids`);
      }
      request.orderIds.forEach((orderId, index) => {
        violations.text(`order_ids[${index}]`, orderId, ORDER_ID_MAX, { required: true });
      });
      violations.throwIfAny();
      const { released, unknown } = await reservations.confirm(request.orderIds);
      return create(ConfirmReservationsResponseSchema, {
        releasedOrderIds: released,
        unknownOrderIds: unknown,
      });
    },

    async releaseReservation(request, context) {
      await auth.requireService(context);
      const violations = new Violations();
      checkOrderId(violations, request.orderId);
      violations.throwIfAny();
      const { released, changes } = await reservations.release(request.orderId);
      await invalidate(changes);
      return create(ReleaseReservationResponseSchema, { released });
    },
  };
}

/** Whether the caller named the server this process stores reservations on (never when unknown). */
function isThisServer(own: string | undefined, callers: string): boolean {
  return own !== undefined && own !== "" && callers === own;
}

function checkOrderId(violations: Violations, orderId: string): void {
  violations.text("order_id", orderId, ORDER_ID_MAX, { required: true });
}
