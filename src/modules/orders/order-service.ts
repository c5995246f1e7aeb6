/**
 * OrderService. Creating an order is a small saga across two modules: take the stock in
 * inventory (keyed by the new order's id, so a retry takes it once), store the order, then confirm
 * the reservation. If storing fails the stock is released at once; if this process dies first,
 * inventory releases the unconfirmed reservation when it expires.
 */
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { type CallOptions, type Client, Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { StockService } from "../../gen/ecommerce/inventory/v1/stock_service_pb.js";
import type { Order } from "../../gen/ecommerce/orders/v1/order_pb.js";
import {
  CreateOrderResponseSchema,
  GetOrderResponseSchema,
  ListOrdersResponseSchema,
  type OrderService,
  UpdateOrderStatusResponseSchema,
} from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import type { Authenticator, Principal, ServiceCredential } from "../../platform/auth/index.js";
import { CoalescingBatcher } from "../../platform/batching/index.js";
import { isUuid, uuidv7 } from "../../platform/ids.js";
import type { Logger } from "../../platform/logger.js";
import {
  businessError,
  decodeTimeCursor,
  fetchPage,
  invalidArgument,
  notFound,
  resolvePageSize,
  timeCursorOf,
} from "../../platform/rpc/index.js";
import type { IdempotencyStore } from "./idempotency-store.js";
import { canMove, statusFromProto } from "./order-lifecycle.js";
import type { OrderStore } from "./order-store.js";
import { type OrderLine, validateCreateOrder } from "./order-validation.js";
import type { OrderStatusName } from "./schema.js";
import type { StockCommandStore } from "./stock-command-store.js";
import { type Confirmation, returnCancelledStock } from "./stock-settlement.js";
import { UsersAtPendingLimit } from "./users-at-pending-limit.js";

export interface OrderServiceDeps {
  orders: OrderStore;
  idempotency: IdempotencyStore;
  commands: StockCommandStore;
  stock: StockCalls;
  auth: Authenticator;
  logger: Logger;
  /** Pending orders one user may hold at once (MAX_PENDING_ORDERS). */
  maxPendingOrders: number;
  onEventsCommitted: () => void;
}

/** Internal calls get a deadline of their own rather than the caller's. */
const INTERNAL_CALL_TIMEOUT_MS = 10_000;

/** The StockService calls this module makes, with its service token and an internal deadline. */
export interface StockCalls {
  reserve(orderId: string, lines: OrderLine[]): ReturnType<Client<typeof StockService>["reserveStock"]>;
  /** One ConfirmReservations call for many orders: the outcome of each. */
  confirm(orderIds: string[]): Promise<Map<string, Confirmation>>;
  release(orderId: string): Promise<void>;
}

export function createStockCalls(
  stock: Client<typeof StockService>,
  credential: Pick<ServiceCredential, "authorization">,
): StockCalls {
  const internal = async (): Promise<CallOptions> => ({
    headers: { authorization: await credential.authorization() },
    timeoutMs: INTERNAL_CALL_TIMEOUT_MS,
  });
  return {
    reserve: async (orderId, lines) => stock.reserveStock({ orderId, lines }, await internal()),
    confirm: async (orderIds) => {
      const response = await stock.confirmReservations({ orderIds }, await internal());
      const outcomes = new Map<string, Confirmation>(orderIds.map((id) => [id, "confirmed"]));
      for (const id of response.releasedOrderIds) outcomes.set(id, "released");
      for (const id of response.unknownOrderIds) outcomes.set(id, "unknown");
      return outcomes;
    },
    release: async (orderId) => {
      await stock.releaseReservation({ orderId }, await internal());
    },
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

type OrderMethods = "createOrder" | "getOrder" | "listOrders" | "updateOrderStatus";

export function createOrderHandlers(
  deps: OrderServiceDeps,
): Pick<ServiceImpl<typeof OrderService>, OrderMethods> {
  const { orders, idempotency, commands, stock, auth, logger } = deps;
  const usersAtLimit = new UsersAtPendingLimit();

  /** The order if the caller may see it; another user's order does not exist for a customer. */
  async function visibleOrder(id: string, principal: Principal): Promise<Order> {
    const order = isUuid(id) ? await orders.get(id) : undefined;
    if (order === undefined || (principal.role !== "admin" && order.userId !== principal.userId)) {
      throw notFound("order", id);
    }
    return order;
  }

  async function placeOrder(
    userId: string,
    lines: OrderLine[],
    options: { claim?: { userId: string; key: string; claimId: string }; deadline: AbortSignal },
  ): Promise<Order> {
    throwIfPastDeadline(options.deadline);
    // A customer refused recently is checked before stock is taken for them (the strict check is
    // when the order is stored): see users-at-pending-limit.ts.
    if (usersAtLimit.mayBeAtLimit(userId)) {
      if ((await orders.pendingCount(userId)) >= deps.maxPendingOrders) {
        throw tooManyPending(deps.maxPendingOrders);
      }
      usersAtLimit.forget(userId);
    }
    const orderId = uuidv7();
    // Not tied to the caller's signal: once stock may be taken, the saga finishes or undoes itself
    // even if the client hangs up (a disconnect mid-call would otherwise leave stock taken).
    let reserved: Awaited<ReturnType<StockCalls["reserve"]>>;
    try {
      reserved = await stock.reserve(orderId, lines);
    } catch (error) {
      // A definite "no" took nothing; anything else (a timeout, a lost connection) may have taken
      // the stock, and releasing an order id that holds nothing is harmless.
      if (!isDefiniteRefusal(error)) await releaseQuietly(orderId);
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
        { maxPending: deps.maxPendingOrders, idempotency: options.claim },
      );
    } catch (error) {
      // Give the stock back now rather than at expiry.
      await releaseQuietly(orderId);
      throw error;
    }
    if (typeof stored === "string") {
      await releaseQuietly(orderId);
      if (stored === "too_many_pending") {
        usersAtLimit.remember(userId);
        throw tooManyPending(deps.maxPendingOrders);
      }
      throw businessError(
        Code.Aborted,
        "IDEMPOTENCY_KEY_TAKEN_OVER",
        "this request took too long and a repeat with the same Idempotency-Key took over",
      );
    }
    deps.onEventsCommitted();
    await confirmWithRetry(orderId);
    return stored;
  }

  const returnStock = (orderId: string) =>
    returnCancelledStock({ release: stock.release, commands, logger }, orderId);

  /** Releases an order's stock, leaving it to the expiry job when inventory cannot be reached. */
  async function releaseQuietly(orderId: string): Promise<void> {
    await stock.release(orderId).catch((error: unknown) => {
      logger.warn(
        { err: error, orderId },
        "could not release the stock of a failed order; its reservation will expire",
      );
    });
  }

  /**
   * Concurrent orders confirm their reservations together: one ConfirmReservations call (one
   * statement in inventory) per batch instead of one per order.
   */
  const confirmations = new CoalescingBatcher<string, Confirmation>(async (orderIds) => {
    const outcomes = await stock.confirm(orderIds);
    const confirmed = orderIds.filter((id) => outcomes.get(id) === "confirmed");
    // The others stay owed: the settlement job decides what a lapsed reservation means.
    await commands.settled("confirm", confirmed);
    return outcomes;
  });

  /** The order exists now, so its reservation must not expire; a few quick retries cover a blip. */
  async function confirmWithRetry(orderId: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await confirmations.call(orderId);
        if (outcome !== "confirmed") {
          logger.error(
            { orderId, outcome },
            "the stock reservation of a stored order was not there to confirm",
          );
        }
        return;
      } catch (error) {
        if (attempt >= 3) {
          logger.error({ err: error, orderId }, "could not confirm the stock reservation of an order");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  }

  return {
    async createOrder(request, context) {
      const principal = await auth.requireUser(context);
      let userId = principal.userId;
      if (request.userId !== "" && request.userId !== principal.userId) {
        if (principal.role !== "admin") {
          throw businessError(
            Code.PermissionDenied,
            "NOT_YOUR_ORDER",
            "a customer orders only for themselves",
          );
        }
        userId = request.userId;
      }
      const lines = validateCreateOrder(request);
      const key = request.idempotencyKey === "" ? undefined : request.idempotencyKey;
      if (key === undefined)
        return create(CreateOrderResponseSchema, {
          order: await placeOrder(userId, lines, { deadline: context.signal }),
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
          order: await placeOrder(userId, lines, { claim, deadline: context.signal }),
        });
      } catch (error) {
        // A failed request leaves nothing behind, so the same key may be retried.
        await idempotency.forget(principal.userId, key, claim.claimId);
        throw error;
      }
    },

    async getOrder(request, context) {
      const principal = await auth.requireUser(context);
      return create(GetOrderResponseSchema, { order: await visibleOrder(request.id, principal) });
    },

    async listOrders(request, context) {
      const principal = await auth.requireUser(context);
      const limit = resolvePageSize(request.pageSize);
      let status: OrderStatusName | undefined;
      if (request.status !== 0) {
        status = statusFromProto(request.status);
        if (status === undefined)
          throw invalidArgument([{ field: "status", message: "is not a known status" }]);
      }
      const before = decodeTimeCursor(request.pageToken);
      const userId = principal.role === "admin" ? request.userId || undefined : principal.userId;
      const page = await fetchPage(
        limit,
        async (rows) => (await orders.list({ userId, status, before, limit: rows })).orders,
        timeCursorOf,
      );
      return create(ListOrdersResponseSchema, { orders: page.items, nextPageToken: page.nextPageToken });
    },

    async updateOrderStatus(request, context) {
      const principal = await auth.requireUser(context);
      const target = statusFromProto(request.status);
      if (target === undefined)
        throw invalidArgument([{ field: "status", message: "is not a known status" }]);
      let order = await visibleOrder(request.id, principal);
      for (;;) {
        const current = statusFromProto(order.status) as OrderStatusName;
        if (current === target) return create(UpdateOrderStatusResponseSchema, { order });
        if (principal.role !== "admin" && !(current === "pending" && target === "cancelled")) {
          throw businessError(
            Code.PermissionDenied,
            "CUSTOMER_MAY_ONLY_CANCEL_PENDING",
            "a customer may only cancel their own pending order",
          );
        }
        if (!canMove(current, target)) {
          throw businessError(
            Code.FailedPrecondition,
            "INVALID_TRANSITION",
            `an order cannot go from ${current} to ${target}`,
          );
        }
        const changed = await orders.changeStatus(order.id, current, target);
        if (changed === undefined) {
          // Someone else changed it first: decide again from what it is now.
          order = await visibleOrder(request.id, principal);
          continue;
        }
        deps.onEventsCommitted();
        if (target === "cancelled") await returnStock(order.id);
        return create(UpdateOrderStatusResponseSchema, { order: changed });
      }
    },
  };
}
