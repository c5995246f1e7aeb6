/** Conversion of stored order rows to the protobuf Order of the contract. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Order, OrderSchema } from "../../gen/ecommerce/orders/v1/order_pb.js";
import { statusToProto } from "./order-lifecycle.js";
import type { orderItems, orders } from "./schema.js";

export type OrderRow = typeof orders.$inferSelect;
export type OrderItemRow = typeof orderItems.$inferSelect;

export function orderFromRows(order: OrderRow, items: OrderItemRow[]): Order {
  return create(OrderSchema, {
    id: order.id,
    userId: order.userId,
    status: statusToProto(order.status),
    items: items.map((item) => ({
      productId: item.productId,
      productName: item.productName,
      quantity: item.quantity,
      unitPriceCents: item.unitPriceCents,
      discountCents: item.discountCents,
      lineTotalCents: item.lineTotalCents,
    })),
    subtotalCents: order.subtotalCents,
    discountCents: order.discountCents,
    totalCents: order.totalCents,
    createdAt: timestampFromDate(order.createdAt),
    updatedAt: timestampFromDate(order.updatedAt),
  });
}
