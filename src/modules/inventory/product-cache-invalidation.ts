/**
 * Keeps every process's product cache fresh after a change, in two subscriptions to the product
 * events:
 *
 * - every process hosting inventory hears every event (not as a group) and forgets the product in
 *   its own process only (L1, and its loads in flight; LayeredCache.forgetLocally), writing
 *   nothing to L2 (Redis);
 * - one process per event (the durable group `product-cache-l2`, starting from the events
 *   published after it was first created: history has nothing to repair) also tombstones the
 *   product in L2.
 *
 * The process that made the change already invalidated L1 and L2 before answering (a tombstone
 * that no replica's racing load can overwrite, see layered-cache.ts), so the group's tombstone is
 * the repair for when that did not happen: the writer died between its commit and its
 * invalidation (the event was committed with the change, so it still comes), or it could not reach
 * Redis and died before replaying the lost invalidation. A change thus costs two tombstones and
 * about two loads from the database whatever the number of replicas, instead of one per replica.
 */
import { fromBinary } from "@bufbuild/protobuf";
import {
  ProductDeletedSchema,
  ProductStockChangedSchema,
  ProductUpdatedSchema,
} from "../../gen/ecommerce/inventory/v1/events_pb.js";
import type { Product } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import type { LayeredCache } from "../../platform/cache/index.js";
import type { DeliveredEvent, EventBus, Subscription } from "../../platform/events/index.js";
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

export async function invalidateOnProductEvents(
  bus: EventBus,
  cache: LayeredCache<Product>,
  logger: Logger,
): Promise<Subscription> {
  const subjects = ["inventory.product.>", "inventory.stock.>"];
  const onProduct = (forget: (productId: string) => unknown) => async (event: DeliveredEvent) => {
    let productId: string | undefined;
    try {
      productId = productIdOf(event);
    } catch (error) {
      // Nothing to invalidate from an event we cannot read; retrying would not help.
      logger.warn({ err: error, eventId: event.id }, "unreadable product event ignored by the cache");
      return;
    }
    if (productId) await forget(productId);
  };
  const local = await bus.subscribe({ subjects, handler: onProduct((id) => cache.forgetLocally(id)) });
  const shared = await bus.subscribe({
    subjects,
    durableName: "product-cache-l2",
    startAt: "now",
    handler: onProduct((id) => cache.invalidate(id)),
  });
  return {
    async stop() {
      await Promise.all([local.stop(), shared.stop()]);
    },
    async pending() {
      return (await local.pending()) + (await shared.pending());
    },
  };
}
