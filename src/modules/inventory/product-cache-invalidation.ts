/**
 * Keeps every process's product cache fresh: each process hosting inventory listens to all product
 * events (not as a shared group: every replica must hear every change) and drops the product from
 * its cache. The writer already invalidated it before answering (its L1 and a tombstone in L2,
 * which no replica's racing load can overwrite, see layered-cache.ts); this reaches the other
 * replicas' L1 (read when there is no L2), within the relay's delay, and writes the tombstone
 * again from every replica, which repairs L2 when the writer's own invalidation could not reach
 * Redis.
 */
import { fromBinary } from "@bufbuild/protobuf";
import {
  ProductDeletedSchema,
  ProductStockChangedSchema,
  ProductUpdatedSchema,
} from "../../gen/ecommerce/inventory/v1/events_pb.js";
import type { Product } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import type { LayeredCache } from "../../platform/cache/layered-cache.js";
import type { DeliveredEvent, EventBus, Subscription } from "../../platform/events/event-bus.js";
import type { Logger } from "../../platform/logger.js";

/**
 * The product whose cached copy an event makes stale, or undefined. A creation makes nothing
 * stale (missing products are never cached), so it must not evict the copy a first read just made.
 */
export function productIdOf(event: Pick<DeliveredEvent, "type" | "payload">): string | undefined {
  switch (event.type) {
    case ProductUpdatedSchema.typeName:
      return fromBinary(ProductUpdatedSchema, event.payload).product?.id;
    case ProductDeletedSchema.typeName:
      return fromBinary(ProductDeletedSchema, event.payload).productId;
    case ProductStockChangedSchema.typeName:
      return fromBinary(ProductStockChangedSchema, event.payload).productId;
    default:
      return undefined;
  }
}

export function invalidateOnProductEvents(
  bus: EventBus,
  cache: LayeredCache<Product>,
  logger: Logger,
): Promise<Subscription> {
  return bus.subscribe({
    subjects: ["inventory.product.>", "inventory.stock.>"],
    handler: async (event) => {
      let productId: string | undefined;
      try {
        productId = productIdOf(event);
      } catch (error) {
        // Nothing to invalidate from an event we cannot read; retrying would not help.
        logger.warn({ err: error, eventId: event.id }, "unreadable product event ignored by the cache");
        return;
      }
      if (productId) await cache.invalidate(productId);
    },
  });
}
