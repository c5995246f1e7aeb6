/**
 * Keeps every process's product cache fresh after a change, in two subscriptions to the product
 * events: every inventory process forgets the product in its own memory (L1), and one process per
 * event (durable group `product-cache-l2`) tombstones it in Redis, the repair for a writer that
 * could not. docs/cache-protocol.md, "(c) Product events reach every process".
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
