/**
 * The product events this module publishes, as outbox entries: protobuf payloads on subjects
 * relative to the namespace (the bus adds the `<NAMESPACE>.` prefix).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  ProductCreatedSchema,
  ProductDeletedSchema,
  ProductUpdatedSchema,
  StockChangedSchema,
} from "../../gen/ecommerce/inventory/v1/events_pb.js";
import type { Product } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import type { NewOutboxEvent } from "../../platform/events/index.js";
import { uuidv7 } from "../../platform/ids.js";

export const PRODUCT_SUBJECTS = {
  created: "inventory.product.created",
  updated: "inventory.product.updated",
  deleted: "inventory.product.deleted",
  // Outside inventory.product.> on purpose: one per order, and the statistics' product consumer
  // (which reads inventory.product.>) has no use for them.
  stockChanged: "inventory.stock.changed",
} as const;

export function productCreatedEvent(product: Product): NewOutboxEvent {
  return {
    id: uuidv7(),
    type: ProductCreatedSchema.typeName,
    subject: PRODUCT_SUBJECTS.created,
    payload: toBinary(ProductCreatedSchema, create(ProductCreatedSchema, { product })),
  };
}

export function productUpdatedEvent(product: Product): NewOutboxEvent {
  return {
    id: uuidv7(),
    type: ProductUpdatedSchema.typeName,
    subject: PRODUCT_SUBJECTS.updated,
    payload: toBinary(ProductUpdatedSchema, create(ProductUpdatedSchema, { product })),
  };
}

export function productDeletedEvent(productId: string, deletedAt: Date): NewOutboxEvent {
  return {
    id: uuidv7(),
    type: ProductDeletedSchema.typeName,
    subject: PRODUCT_SUBJECTS.deleted,
    payload: toBinary(
      ProductDeletedSchema,
      create(ProductDeletedSchema, { productId, deletedAt: timestampFromDate(deletedAt) }),
    ),
  };
}

/** One product's stock taken (negative delta) or returned. */
export interface StockDelta {
  productId: string;
  delta: number;
}

/**
 * The stock an order took or returned, every product in one event (one message on the bus per
 * change, however many lines the order has); built before the statement that changes the stock.
 */
export function stockChangedEvent(
  orderId: string,
  deltas: readonly StockDelta[],
  changedAt: Date,
): NewOutboxEvent & { id: string } {
  return {
    id: uuidv7(),
    type: StockChangedSchema.typeName,
    subject: PRODUCT_SUBJECTS.stockChanged,
    payload: toBinary(
      StockChangedSchema,
      create(StockChangedSchema, {
        orderId,
        deltas: deltas.map(({ productId, delta }) => ({ productId, delta })),
        changedAt: timestampFromDate(changedAt),
      }),
    ),
  };
}
