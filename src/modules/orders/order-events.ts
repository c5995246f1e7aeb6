/** The order events this module publishes, as outbox entries (subjects relative to the namespace). */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { OrderCreatedSchema, OrderStatusChangedSchema } from "../../gen/ecommerce/orders/v1/events_pb.js";
import type { WatchOrdersResponse } from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import type { NewOutboxEvent } from "../../platform/events/index.js";
import { uuidv7 } from "../../platform/ids.js";
import { statusToProto } from "./order-lifecycle.js";
import type { OrderItemRow, OrderRow } from "./order-mapper.js";
import type { OrderStatusName } from "./schema.js";

export const ORDER_SUBJECTS = {
  created: "orders.order.created",
  statusChanged: "orders.order.status_changed",
} as const;

/** Every order event, in one subscription so their order across subjects is kept. */
export const EVERY_ORDER_SUBJECT = "orders.order.>";

/** An order event as WatchOrders sends it: the `event` of a WatchOrdersResponse. */
export type OrderEvent = Exclude<WatchOrdersResponse["event"], { case: undefined }>;

/**
 * The message a delivered order event carries; undefined for a subject this module does not (yet)
 * publish under `orders.order.`. Throws when the payload is not the message its subject names.
 */
export function decodeOrderEvent(event: { subject: string; payload: Uint8Array }): OrderEvent | undefined {
  switch (event.subject) {
    case ORDER_SUBJECTS.created:
      return { case: "created", value: fromBinary(OrderCreatedSchema, event.payload) };
    case ORDER_SUBJECTS.statusChanged:
      return { case: "statusChanged", value: fromBinary(OrderStatusChangedSchema, event.payload) };
    default:
      return undefined;
  }
}

export function orderCreatedEvent(order: OrderRow, items: OrderItemRow[]): NewOutboxEvent {
  const message = create(OrderCreatedSchema, {
    orderId: order.id,
    userId: order.userId,
    status: statusToProto(order.status),
    subtotalCents: order.subtotalCents,
    discountCents: order.discountCents,
    totalCents: order.totalCents,
    itemCount: items.reduce((sum, item) => sum + item.quantity, 0),
    createdAt: timestampFromDate(order.createdAt),
  });
  return {
    id: uuidv7(),
    type: OrderCreatedSchema.typeName,
    subject: ORDER_SUBJECTS.created,
    payload: toBinary(OrderCreatedSchema, message),
  };
}

export function orderStatusChangedEvent(order: OrderRow, from: OrderStatusName): NewOutboxEvent {
  const message = create(OrderStatusChangedSchema, {
    orderId: order.id,
    userId: order.userId,
    from: statusToProto(from),
    to: statusToProto(order.status),
    totalCents: order.totalCents,
    createdAt: timestampFromDate(order.createdAt),
    changedAt: timestampFromDate(order.updatedAt),
  });
  return {
    id: uuidv7(),
    type: OrderStatusChangedSchema.typeName,
    subject: ORDER_SUBJECTS.statusChanged,
    payload: toBinary(OrderStatusChangedSchema, message),
  };
}
