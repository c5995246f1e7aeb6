/**
 * The product read path: L1 (this process) → L2 (Redis, when configured) → the store. Values are
 * protobuf Products, kept as-is in L1 and as base64 protobuf binary in L2.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Product, ProductSchema } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import { type CachePeers, LayeredCache, type SecondLevelStore } from "../../platform/cache/index.js";
import type { Logger } from "../../platform/logger.js";
import type { Registry } from "../../platform/metrics.js";
import type { ProductStore } from "./product-store.js";

const RELOAD_PAGE = 500;

export interface ProductCacheOptions {
  store: ProductStore;
  l2: SecondLevelStore | undefined;
  /** Every process keeping product copies in memory (with Redis). */
  peers?: CachePeers;
  maxEntries?: number;
  metrics?: Registry;
  logger?: Logger;
}

export function createProductCache(options: ProductCacheOptions): LayeredCache<Product> {
  return new LayeredCache<Product>({
    name: "products",
    maxEntries: options.maxEntries ?? 50_000,
    l2: options.l2,
    l2TtlMs: 24 * 60 * 60 * 1000,
    // An invalidation leaves a tombstone in L2 for a minute, and a miss a fill marker: a replica's
    // load that read the row before the write can never put it back (its fill compares against
    // the marker or tombstone its L2 read saw, which the write replaced). A fill not sent within a
    // minute of its read (a load, or the full reload's second read of the catalog) is dropped: it
    // would be refused.
    l2TombstoneTtlMs: 60_000,
    // Replicas share L2: a change made through one (stock taken by an order, an update, a delete)
    // must read fresh through every other as soon as it has answered. With peers, L1 answers
    // under the freshness lease and every write waits until every copy is forgotten; without
    // the lease, reads go through L2.
    readThroughL2: true,
    peers: options.peers,
    codec: {
      encode: (product) => Buffer.from(toBinary(ProductSchema, product)).toString("base64"),
      decode: (text) => fromBinary(ProductSchema, Buffer.from(text, "base64")),
    },
    load: (id) => options.store.get(id),
    metrics: options.metrics,
    logger: options.logger,
  });
}

/**
 * Replaces the whole cache with the catalog as it is now (the scheduled full reload). reloadAll
 * reads the catalog a second time when keys were missing from L2 (it fills them from that read).
 */
export async function reloadProductCache(cache: LayeredCache<Product>, store: ProductStore): Promise<number> {
  let count = 0;
  // reloadAll keeps any key invalidated while the catalog is being read from going back to old data.
  await cache.reloadAll(async () => {
    const entries: [string, Product][] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await store.list({ afterId, limit: RELOAD_PAGE });
      for (const product of page) entries.push([product.id, product]);
      if (page.length < RELOAD_PAGE) break;
      afterId = page[page.length - 1]?.id;
    }
    count = entries.length;
    return entries;
  });
  return count;
}
