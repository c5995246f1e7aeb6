/**
 * The OrderService methods on orders that exist: reading, listing, moving one through its
 * lifecycle, and watching them change. Placing an order is a saga of its own (order-service.ts).
 */
import { create } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import type { Order } from "../../gen/ecommerce/orders/v1/order_pb.js";
import {
  GetOrderResponseSchema,
  ListOrdersResponseSchema,
  type OrderService,
  UpdateOrderStatusResponseSchema,
  WatchOrdersResponseSchema,
} from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import type { Authenticator, Principal } from "../../platform/auth/index.js";
import { isUuid } from "../../platform/ids.js";
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
import { canMove, statusFromProto } from "./order-lifecycle.js";
import type { OrderStore } from "./order-store.js";
import type { OrderWatch } from "./order-watch.js";
import type { OrderStatusName } from "./schema.js";
import type { StockCalls } from "./stock-calls.js";
import type { StockCommandStore } from "./stock-command-store.js";
import { returnCancelledStock } from "./stock-settlement.js";

export interface OrderHandlersDeps {
  orders: OrderStore;
  commands: StockCommandStore;
  stock: Pick<StockCalls, "release">;
  auth: Authenticator;
  logger: Logger;
  onEventsCommitted: () => void;
  /** The live order events of this process (WatchOrders). */
  watch: OrderWatch;
}

/** The handler of one OrderService method. */
export type OrderRpc<M extends keyof ServiceImpl<typeof OrderService>> = ServiceImpl<typeof OrderService>[M];

/** The order if the caller may see it; another user's order does not exist for a customer. */
async function visibleOrder(orders: OrderStore, id: string, principal: Principal): Promise<Order> {
  const order = isUuid(id) ? await orders.get(id) : undefined;
  if (order === undefined || (principal.role !== "admin" && order.userId !== principal.userId)) {
    throw notFound("order", id);
  }
  return order;
}

export function getOrderHandler({ orders, auth }: OrderHandlersDeps): OrderRpc<"getOrder"> {
  return async (request, context) => {
    const principal = await auth.requireUser(context);
    return create(GetOrderResponseSchema, { order: await visibleOrder(orders, request.id, principal) });
  };
}

export function listOrdersHandler({ orders, auth }: OrderHandlersDeps): OrderRpc<"listOrders"> {
  return async (request, context) => {
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
  };
}

export function updateOrderStatusHandler(deps: OrderHandlersDeps): OrderRpc<"updateOrderStatus"> {
  const { orders, commands, stock, auth, logger } = deps;
  const returnStock = (orderId: string) =>
    returnCancelledStock({ release: stock.release, commands, logger }, orderId);
  return async (request, context) => {
    const principal = await auth.requireUser(context);
    const target = statusFromProto(request.status);
    if (target === undefined) throw invalidArgument([{ field: "status", message: "is not a known status" }]);
    let order = await visibleOrder(orders, request.id, principal);
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
        order = await visibleOrder(orders, request.id, principal);
        continue;
      }
      deps.onEventsCommitted();
      if (target === "cancelled") await returnStock(order.id);
      return create(UpdateOrderStatusResponseSchema, { order: changed });
    }
  };
}

/**
 * WatchOrders (admin): an empty first message once the watch is in place, so the caller knows it
 * misses nothing from then on, then every order event until the caller goes away, its deadline
 * passes, the process stops (a clean end each time) or it reads too slowly (resource_exhausted).
 */
export function watchOrdersHandler({ auth, watch }: OrderHandlersDeps): OrderRpc<"watchOrders"> {
  return async function* watchOrders(_request, context) {
    await auth.requireAdmin(context);
    const watcher = await watch.open(context.signal);
    try {
      yield create(WatchOrdersResponseSchema);
      for await (const event of watcher) yield create(WatchOrdersResponseSchema, { event });
    } finally {
      watcher.end();
    }
  };
}
