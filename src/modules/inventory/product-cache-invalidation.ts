/**
 * Keeps every process's product cache fresh after a change, in two subscriptions to the product
 * events: every inventory process forgets the product in its own memory (L1), and one process per
 * event (durable group `product-cache-l2`) tombstones it in Redis, the repair for a writer that
 * could not. With the freshness lease (peers) the first is not made: the writer's forget dropped
 * every copy before it answered, and the group's invalidate tells every peer too. An event whose
 * writer is this process, and whose invalidation tombstoned L2, needs no repair (invalidated-here.ts).
 * docs/cache-protocol.md, "(c) Product events reach every process".
 */
import { fromBinary } from "@bufbuild/protobuf";
import {
  ProductDeletedSchema,
  ProductStockChangedSchema,
  ProductUpdatedSchema,
  StockChangedSchema,
} from "../../gen/ecommerce/inventory/v1/events_pb.js";
import type { Product } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import type { LayeredCache } from "../../platform/cache/index.js";
import type { DeliveredEvent, EventBus, Subscription } from "../../platform/events/index.js";
import type { Logger } from "../../platform/logger.js";
import type { InvalidatedHere } from "./invalidated-here.js";

/**
 * The products whose cached copies an event makes stale (none for other events). A creation makes
 * nothing stale (missing products are never cached), so it must not evict the copy a first read
 * just made. ProductStockChanged is no longer published, but a stream may still hold some.
 */
export function productIdsOf(event: Pick<DeliveredEvent, "type" | "payload">): string[] {
  switch (event.type) {
    case StockChangedSchema.typeName:
      return fromBinary(StockChangedSchema, event.payload).deltas.map((delta) => delta.productId);
    case ProductUpdatedSchema.typeName: {
      const id = fromBinary(ProductUpdatedSchema, event.payload).product?.id;
      return id ? [id] : [];
    }
    case ProductDeletedSchema.typeName:
      return [fromBinary(ProductDeletedSchema, event.payload).productId];
    case ProductStockChangedSchema.typeName:
      return [fromBinary(ProductStockChangedSchema, event.payload).productId];
    default:
      return [];
  }
}

export async function invalidateOnProductEvents(
  bus: EventBus,
  cache: LayeredCache<Product>,
  logger: Logger,
  options: { withPeers: boolean; invalidatedHere?: InvalidatedHere } = { withPeers: false },
): Promise<Subscription> {
  const { invalidatedHere } = options;
  const subjects = ["inventory.product.>", "inventory.stock.>"];
  const readable = (event: DeliveredEvent): string[] => {
    try {
      return productIdsOf(event).filter(Boolean);
    } catch (error) {
      // Nothing to invalidate from an event we cannot read; retrying would not help.
      logger.warn({ err: error, eventId: event.id }, "unreadable product event ignored by the cache");
      return [];
    }
  };
  const onProduct = (forget: (productId: string) => unknown) => async (event: DeliveredEvent) => {
    await Promise.all(readable(event).map(forget));
  };
  /** The products the group must still repair for `event`. */
  const toRepair = async (event: DeliveredEvent): Promise<string[]> => {
    if (invalidatedHere !== undefined && (await invalidatedHere.take(event.id))) return [];
    return readable(event);
  };
  // Without peers, the only way a write made elsewhere leaves this process's memory.
  const local = options.withPeers
    ? undefined
    : await bus.subscribe({ subjects, handler: onProduct((id) => cache.forgetLocally(id)) });
  const shared = await bus.subscribe({
    subjects,
    durableName: "product-cache-l2",
    startAt: "now",
    handler: async (event) => {
      await Promise.all((await toRepair(event)).map((id) => cache.invalidate(id)));
    },
    // Events that queued up meanwhile: each product once (a popular one changes with every
    // order), their tombstones sent together and their forgets in one message.
    batchHandler: async (events) => {
      const productIds = new Set((await Promise.all(events.map(toRepair))).flat());
      await Promise.all([...productIds].map((id) => cache.invalidate(id)));
    },
  });
  return {
    async stop() {
      await Promise.all([local?.stop(), shared.stop()]);
    },
    async pending() {
      return (local === undefined ? 0 : await local.pending()) + (await shared.pending());
    },
  };
}
