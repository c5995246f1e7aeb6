/** The order's life: which status may follow which, and the mapping to the proto enum. */
import { OrderStatus } from "../../gen/ecommerce/orders/v1/order_pb.js";
import type { OrderStatusName } from "./schema.js";

const NEXT: Record<OrderStatusName, readonly OrderStatusName[]> = {
  pending: ["paid", "cancelled"],
  paid: ["shipped", "cancelled"],
  shipped: ["delivered"],
  delivered: [],
  cancelled: [],
};

export function canMove(from: OrderStatusName, to: OrderStatusName): boolean {
  return NEXT[from].includes(to);
}

const TO_PROTO: Record<OrderStatusName, OrderStatus> = {
  pending: OrderStatus.PENDING,
  paid: OrderStatus.PAID,
  shipped: OrderStatus.SHIPPED,
  delivered: OrderStatus.DELIVERED,
  cancelled: OrderStatus.CANCELLED,
};

export function statusToProto(status: OrderStatusName): OrderStatus {
  return TO_PROTO[status];
}

/** The stored name of a proto status; undefined for UNSPECIFIED or an unknown number. */
export function statusFromProto(status: OrderStatus): OrderStatusName | undefined {
  return (Object.keys(TO_PROTO) as OrderStatusName[]).find((name) => TO_PROTO[name] === status);
}
