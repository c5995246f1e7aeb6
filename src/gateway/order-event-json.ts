/**
 * The REST shape of an order event (GET /orders/events): the SSE event name and its JSON data,
 * snake_case, statuses as their lower-case names, integer cents, RFC 3339 UTC times, as an order
 * reads in REST (order-json.ts).
 */
import type { OrderCreated, OrderStatusChanged } from "../gen/ecommerce/orders/v1/events_pb.js";
import type { WatchOrdersResponse } from "../gen/ecommerce/orders/v1/order_service_pb.js";
import { orderStatusName, rfc3339 } from "./order-json.js";

export function orderCreatedJson(event: OrderCreated) {
  return {
    order_id: event.orderId,
    user_id: event.userId,
    status: orderStatusName(event.status),
    subtotal_cents: Number(event.subtotalCents),
    discount_cents: Number(event.discountCents),
    total_cents: Number(event.totalCents),
    item_count: event.itemCount,
    created_at: rfc3339(event.createdAt),
  };
}

export function orderStatusChangedJson(event: OrderStatusChanged) {
  return {
    order_id: event.orderId,
    user_id: event.userId,
    from: orderStatusName(event.from),
    to: orderStatusName(event.to),
    total_cents: Number(event.totalCents),
    created_at: rfc3339(event.createdAt),
    changed_at: rfc3339(event.changedAt),
  };
}

/** The SSE event of one WatchOrders message; undefined for a message without an event (the first). */
export function orderEventOf(
  message: WatchOrdersResponse,
): { event: "order.created" | "order.status_changed"; data: object } | undefined {
  switch (message.event.case) {
    case "created":
      return { event: "order.created", data: orderCreatedJson(message.event.value) };
    case "statusChanged":
      return { event: "order.status_changed", data: orderStatusChangedJson(message.event.value) };
    default:
      return undefined;
  }
}
