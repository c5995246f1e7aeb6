/** The REST shape of an order: snake_case, status as a lower-case name, integer cents. */
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { type Order, OrderStatus } from "../gen/ecommerce/orders/v1/order_pb.js";

export const ORDER_STATUS_NAMES = ["pending", "paid", "shipped", "delivered", "cancelled"] as const;
export type OrderStatusName = (typeof ORDER_STATUS_NAMES)[number];

const BY_NAME: Record<OrderStatusName, OrderStatus> = {
  pending: OrderStatus.PENDING,
  paid: OrderStatus.PAID,
  shipped: OrderStatus.SHIPPED,
  delivered: OrderStatus.DELIVERED,
  cancelled: OrderStatus.CANCELLED,
};

export function orderStatusFromName(name: OrderStatusName): OrderStatus {
  return BY_NAME[name];
}

export function orderStatusName(status: OrderStatus): OrderStatusName {
  const name = ORDER_STATUS_NAMES.find((candidate) => BY_NAME[candidate] === status);
  if (name === undefined) throw new Error(`order status ${status} has no REST name`);
  return name;
}

export function orderJson(order: Order) {
  return {
    id: order.id,
    user_id: order.userId,
    status: orderStatusName(order.status),
    items: order.items.map((item) => ({
      product_id: item.productId,
      product_name: item.productName,
      quantity: item.quantity,
      unit_price_cents: Number(item.unitPriceCents),
      discount_cents: Number(item.discountCents),
      line_total_cents: Number(item.lineTotalCents),
    })),
    subtotal_cents: Number(order.subtotalCents),
    discount_cents: Number(order.discountCents),
    total_cents: Number(order.totalCents),
    created_at: rfc3339(order.createdAt),
    updated_at: rfc3339(order.updatedAt),
  };
}

/** A time as REST writes it: RFC 3339 in UTC, with milliseconds; "" when the message has none. */
export function rfc3339(timestamp: Timestamp | undefined): string {
  return timestamp ? timestampDate(timestamp).toISOString() : "";
}
