/**
 * The gateway answers anonymous product reads from its own copy of each product instead of a call
 * per read: over the network when inventory runs in another process, and through the Connect
 * client, handler and inventory's cache when it runs in this one (most of a cached read's CPU).
 * The copy is kept as fresh as inventory's own: it takes part in the same peers under the same
 * cache name, so every write inventory answers has first made this copy forget the product — over
 * the freshness lease with Redis, at once in this process without it — and while a lease does not
 * hold, every read goes to inventory (docs/cache-protocol.md, "(e) L1 under a freshness lease").
 * Reads that carry a token go to inventory, which checks it; so do failures (a product that does
 * not exist is never kept).
 */
import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import {
  type GetProductResponse,
  GetProductResponseSchema,
  type InventoryService,
} from "../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import type { Product } from "../gen/ecommerce/inventory/v1/product_pb.js";
import { type CachePeers, LayeredCache } from "../platform/cache/index.js";
import { uuidKey } from "../platform/ids.js";
import type { Logger } from "../platform/logger.js";
import type { Registry } from "../platform/metrics.js";
import { oncePer } from "../platform/once-per.js";

/** The name inventory's product cache goes by, whose forgets this copy follows. */
const PRODUCT_CACHE = "products";

export interface ProductEdgeCacheOptions {
  peers: CachePeers;
  maxEntries?: number;
  metrics?: Registry;
  logger?: Logger;
}

export interface ProductEdgeCache {
  /** `inventory` with GetProduct answered from the copy when no token is sent. */
  readonly client: Client<typeof InventoryService>;
  /**
   * The copy of a product, synchronously, when it may answer an anonymous read now: what lets the
   * hottest read be answered without a promise (product-read-shortcut.ts).
   */
  readonly cached: (id: string) => Product | undefined;
}

export function withProductEdgeCache(
  inventory: Client<typeof InventoryService>,
  options: ProductEdgeCacheOptions,
): ProductEdgeCache {
  const cache = new LayeredCache<Product>({
    name: PRODUCT_CACHE,
    maxEntries: options.maxEntries ?? 50_000,
    peers: options.peers,
    // Inventory's cache counts every read that reaches it; this copy, those it answered.
    countsAsCopy: true,
    load: async (id) => {
      const { product } = await inventory.getProduct({ id });
      if (product === undefined) throw new ConnectError("GetProduct returned no product", Code.Internal);
      return product;
    },
    metrics: options.metrics,
    logger: options.logger,
  });
  // Each copy's response is built once, as inventory does for its own.
  const responseOf = oncePer(
    (product: Product): GetProductResponse => create(GetProductResponseSchema, { product }),
  );
  const respond = (product: Product | undefined): GetProductResponse =>
    product === undefined ? create(GetProductResponseSchema, {}) : responseOf(product);
  const getProduct: Client<typeof InventoryService>["getProduct"] = (request, callOptions) => {
    // A sent token must be checked by inventory (callOptions carry no other header here).
    if (callOptions?.headers !== undefined) return inventory.getProduct(request, callOptions);
    const id = request.id ?? "";
    const cached = cache.getIfPresent(id);
    if (cached !== undefined) return Promise.resolve(respond(cached));
    // Only a UUID names a product; the copy keeps the key writes forget (uuidKey).
    const key = uuidKey(id);
    if (key === undefined) return inventory.getProduct(request, callOptions);
    return cache.get(key).then(respond);
  };
  return { client: { ...inventory, getProduct }, cached: (id) => cache.getIfPresent(id) };
}
