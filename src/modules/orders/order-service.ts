/**
 * OrderService. Creating an order is a small saga across two modules: take the stock in
 * inventory (keyed by the new order's id, so a retry takes it once), store the order, then confirm
 * the reservation. If storing fails the stock is released at once; if this process dies first,
 * inventory releases the unconfirmed reservation when it expires.
 *
 * This file holds CreateOrder and its saga; the methods on orders that exist already are in
 * order-handlers.ts, and the StockService calls in stock-calls.ts.
 */
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type ServiceImpl } from "@connectrpc/connect";
import type { Order } from "../../gen/ecommerce/orders/v1/order_pb.js";
import {
  CreateOrderResponseSchema,
  type OrderService,
} from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import { CoalescingBatcher } from "../../platform/batching/index.js";
import { uuidv7 } from "../../platform/ids.js";
import { REQUEST_CONTEXT } from "../../platform/observability/index.js";
import { businessError, notFound } from "../../platform/rpc/index.js";
import type { IdempotencyStore } from "./idempotency-store.js";
import {
  getOrderHandler,
  listOrdersHandler,
  type OrderHandlersDeps,
  type OrderRpc,
  updateOrderStatusHandler,
  watchOrdersHandler,
} from "./order-handlers.js";
import type { IdempotencyClaim, OrderStore } from "./order-store.js";
import { type OrderLine, validateCreateOrder } from "./order-validation.js";
import type { StockCalls } from "./stock-calls.js";
import type { Confirmation } from "./stock-settlement.js";
import { UsersAtPendingLimit } from "./users-at-pending-limit.js";

export interface OrderServiceDeps extends OrderHandlersDeps {
  idempotency: IdempotencyStore;
  stock: StockCalls;
  /** Pending orders one user may hold at once (MAX_PENDING_ORDERS). */
  maxPendingOrders: number;
}

type OrderMethods = "createOrder" | "getOrder" | "listOrders" | "updateOrderStatus" | "watchOrders";

export function createOrderHandlers(
  deps: OrderServiceDeps,
): Pick<ServiceImpl<typeof OrderService>, OrderMethods> {
  return {
    createOrder: createOrderHandler(deps, new OrderPlacement(deps)),
    getOrder: getOrderHandler(deps),
    listOrders: listOrdersHandler(deps),
    updateOrderStatus: updateOrderStatusHandler(deps),
    watchOrders: watchOrdersHandler(deps),
  };
}

/** 429 resource_exhausted: the user holds as many pending orders as they may. */
function tooManyPending(max: number): ConnectError {
  return businessError(
    Code.ResourceExhausted,
    "TOO_MANY_PENDING_ORDERS",
    `at most ${max} orders may be pending at once: pay or cancel one first`,
  );
}

/** Fails with deadline_exceeded once the call's deadline has passed (or its caller went away). */
function throwIfPastDeadline(signal: AbortSignal): void {
  if (signal.aborted) {
    throw new ConnectError("the request did not finish in time", Code.DeadlineExceeded);
  }
}

/** Errors after which the stock service certainly took nothing. */
function isDefiniteRefusal(error: unknown): boolean {
  const code = ConnectError.from(error).code;
  return (
    code === Code.FailedPrecondition ||
    code === Code.NotFound ||
    code === Code.InvalidArgument ||
    code === Code.PermissionDenied ||
    code === Code.Unauthenticated
  );
}

/** CreateOrder: for whom, then the saga; with an Idempotency-Key, once per key. */
function createOrderHandler(
  deps: Pick<OrderServiceDeps, "auth" | "idempotency" | "orders">,
  placement: OrderPlacement,
): OrderRpc<"createOrder"> {
  const { auth, idempotency, orders } = deps;
  return async (request, context) => {
    const principal = await auth.requireUser(context);
    let userId = principal.userId;
    if (request.userId !== "" && request.userId !== principal.userId) {
      if (principal.role !== "admin") {
        throw businessError(Code.PermissionDenied, "NOT_YOUR_ORDER", "a customer orders only for themselves");
      }
      userId = request.userId;
    }
    const lines = validateCreateOrder(request);
    const key = request.idempotencyKey === "" ? undefined : request.idempotencyKey;
    if (key === undefined)
      return create(CreateOrderResponseSchema, {
        order: await placement.place(userId, lines, { deadline: context.signal, request: context.values }),
      });

    const requestHash = createHash("sha256").update(JSON.stringify({ userId, lines })).digest("hex");
    const claimed = await idempotency.claim(principal.userId, key, requestHash);
    if (claimed.state === "mismatch") {
      throw businessError(
        Code.InvalidArgument,
        "IDEMPOTENCY_KEY_REUSED",
        "this Idempotency-Key was used with a different request",
      );
    }
    if (claimed.state === "in_progress") {
      throw businessError(
        Code.Aborted,
        "IDEMPOTENCY_KEY_IN_USE",
        "a request with this Idempotency-Key is still running",
      );
    }
    if (claimed.state === "completed") {
      const order = await orders.get(claimed.orderId);
      if (order === undefined) throw notFound("order", claimed.orderId);
      return create(CreateOrderResponseSchema, { order });
    }
    const claim = { userId: principal.userId, key, claimId: claimed.claimId };
    try {
      return create(CreateOrderResponseSchema, {
        order: await placement.place(userId, lines, {
          claim,
          deadline: context.signal,
          request: context.values,
        }),
      });
    } catch (error) {
      // A failed request leaves nothing behind, so the same key may be retried.
      await idempotency.forget(principal.userId, key, claim.claimId);
      throw error;
    }
  };
}

/**
 * The saga of the top of this file, one per process: it remembers the customers it recently
 * refused for holding too many pending orders, and confirms concurrent orders' stock together.
 */
class OrderPlacement {
  private readonly usersAtLimit = new UsersAtPendingLimit();
  /**
   * Concurrent orders confirm their reservations together: one ConfirmReservations call (one
   * statement in inventory) per batch instead of one per order.
   */
  private readonly confirmations: CoalescingBatcher<string, Confirmation>;

  constructor(private readonly deps: OrderServiceDeps) {
    const { stock, commands } = deps;
    this.confirmations = new CoalescingBatcher<string, Confirmation>(async (orderIds) => {
      const outcomes = await stock.confirm(orderIds);
      const confirmed = orderIds.filter((id) => outcomes.get(id) === "confirmed");
      // The others stay owed: the settlement job decides what a lapsed reservation means.
      await commands.settled("confirm", confirmed);
      return outcomes;
    });
  }

  async place(
    userId: string,
    lines: OrderLine[],
    options: {
      claim?: IdempotencyClaim;
      deadline: AbortSignal;
      /** The context values of the CreateOrder call: they carry its request's id along. */
      request: ContextValues;
    },
  ): Promise<Order> {
    const { orders, stock, maxPendingOrders } = this.deps;
    throwIfPastDeadline(options.deadline);
    // A customer refused recently is checked before stock is taken for them (the strict check is
    // when the order is stored): see users-at-pending-limit.ts.
    if (this.usersAtLimit.mayBeAtLimit(userId)) {
      if ((await orders.pendingCount(userId)) >= maxPendingOrders) {
        throw tooManyPending(maxPendingOrders);
      }
      this.usersAtLimit.forget(userId);
    }
    const orderId = uuidv7();
    // Not tied to the caller's signal: once stock may be taken, the saga finishes or undoes itself
    // even if the client hangs up (a disconnect mid-call would otherwise leave stock taken).
    let reserved: Awaited<ReturnType<StockCalls["reserve"]>>;
    try {
      reserved = await stock.reserve(orderId, lines, options.request);
    } catch (error) {
      // A definite "no" took nothing; anything else (a timeout, a lost connection) may have taken
      // the stock, and releasing an order id that holds nothing is harmless.
      if (!isDefiniteRefusal(error)) await this.releaseQuietly(orderId, options.request);
      throw error;
    }
    let stored: Awaited<ReturnType<OrderStore["insert"]>>;
    try {
      // The caller has given up: storing the order now would leave one it never heard of.
      throwIfPastDeadline(options.deadline);
      stored = await orders.insert(
        { id: orderId, userId, createdAt: new Date() },
        reserved.lines.map((line) => ({
          productId: line.productId,
          productName: line.productName,
          quantity: line.quantity,
          unitPriceCents: line.unitPriceCents,
          discountCents: BigInt(line.quantity) * line.unitDiscountCents,
        })),
        { maxPending: maxPendingOrders, idempotency: options.claim },
      );
    } catch (error) {
      // Give the stock back now rather than at expiry.
      await this.releaseQuietly(orderId, options.request);
      throw error;
    }
    if (typeof stored === "string") {
      await this.releaseQuietly(orderId, options.request);
      if (stored === "too_many_pending") {
        this.usersAtLimit.remember(userId);
        throw tooManyPending(maxPendingOrders);
      }
      throw businessError(
        Code.Aborted,
        "IDEMPOTENCY_KEY_TAKEN_OVER",
        "this request took too long and a repeat with the same Idempotency-Key took over",
      );
    }
    this.deps.onEventsCommitted();
    await this.confirmWithRetry(orderId, options.request);
    return stored;
  }

  /** Releases an order's stock, leaving it to the expiry job when inventory cannot be reached. */
  private async releaseQuietly(orderId: string, request: ContextValues): Promise<void> {
    await this.deps.stock.release(orderId).catch((error: unknown) => {
      this.deps.logger.warn(
        { err: error, orderId, requestId: request.get(REQUEST_CONTEXT)?.requestId },
        "could not release the stock of a failed order; its reservation will expire",
      );
    });
  }

  /** The order exists now, so its reservation must not expire; a few quick retries cover a blip. */
  private async confirmWithRetry(orderId: string, request: ContextValues): Promise<void> {
    const { logger } = this.deps;
    const requestId = request.get(REQUEST_CONTEXT)?.requestId;
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.confirmations.call(orderId);
        if (outcome !== "confirmed") {
          logger.error(
            { orderId, outcome, requestId },
            "the stock reservation of a stored order was not there to confirm",
          );
        }
        return;
      } catch (error) {
        if (attempt >= 3) {
          logger.error(
            { err: error, orderId, requestId },
            "could not confirm the stock reservation of an order",
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  }
}
