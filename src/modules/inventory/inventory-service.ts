/**
 * InventoryService: the catalog's rules (who may do what, what input is valid) and its read
 * path through the cache, plus the discount methods (discount-handlers.ts). Transport-agnostic: REST, Connect, gRPC and in-process callers all
 * arrive here with the caller's Authorization header.
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  CreateProductResponseSchema,
  DeleteProductResponseSchema,
  type GetProductResponse,
  GetProductResponseSchema,
  type InventoryService,
  ListProductsResponseSchema,
  UpdateProductResponseSchema,
} from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import type { Product } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import type { Authenticator } from "../../platform/auth/index.js";
import type { LayeredCache } from "../../platform/cache/index.js";
import { isUuid, uuidKey } from "../../platform/ids.js";
import { oncePer } from "../../platform/once-per.js";
import {
  decodePageToken,
  encodePageToken,
  fetchPage,
  notFound,
  resolvePageSize,
} from "../../platform/rpc/index.js";
import { createDiscountHandlers } from "./discount-handlers.js";
import type { DiscountStore } from "./discount-store.js";
import type { ProductStore } from "./product-store.js";
import { validateListFilter, validateNewProduct, validateProductChanges } from "./product-validation.js";

export interface InventoryServiceDeps {
  store: ProductStore;
  discounts: DiscountStore;
  cache: LayeredCache<Product>;
  auth: Authenticator;
  /** Called after a transaction that wrote outbox events has committed. */
  onEventsCommitted: () => void;
}

/**
 * Cached products are immutable and reused, so each one's response message is built once: on a
 * warm read this saves a reflective create() per call.
 */
const getProductResponse = oncePer(
  (product: Product): GetProductResponse => create(GetProductResponseSchema, { product }),
);

export function createInventoryService(deps: InventoryServiceDeps): ServiceImpl<typeof InventoryService> {
  return {
    ...createProductHandlers(deps),
    ...createDiscountHandlers({ discounts: deps.discounts, auth: deps.auth }),
  };
}

type ProductHandlers = Pick<
  ServiceImpl<typeof InventoryService>,
  "createProduct" | "getProduct" | "listProducts" | "updateProduct" | "deleteProduct"
>;

function createProductHandlers(deps: InventoryServiceDeps): ProductHandlers {
  const { store, cache, auth, onEventsCommitted } = deps;

  /**
   * The general read: validates a sent token, then goes through every cache layer. `key`: the
   * id's cache key (uuidKey), undefined when it is no UUID and so names no product.
   */
  async function readProduct(
    id: string,
    key: string | undefined,
    context: HandlerContext,
  ): Promise<GetProductResponse> {
    // Reads are public, but a token that is sent must still be valid.
    if (context.requestHeader.has("authorization")) await auth.identify(context);
    const product = key === undefined ? undefined : await cache.get(key);
    if (product === undefined) throw notFound("product", id);
    return getProductResponse(product);
  }

  return {
    async createProduct(request, context) {
      await auth.requireAdmin(context);
      const product = await store.create(validateNewProduct(request));
      onEventsCommitted();
      return create(CreateProductResponseSchema, { product });
    },

    // Not async: a warm read with no token answers synchronously, with no promise in between.
    getProduct(request, context) {
      const key = uuidKey(request.id);
      const cached = key === undefined ? undefined : cache.getIfPresent(key);
      if (cached !== undefined && !context.requestHeader.has("authorization"))
        return getProductResponse(cached);
      return readProduct(request.id, key, context);
    },

    async listProducts(request, context) {
      if (context.requestHeader.has("authorization")) await auth.identify(context);
      const limit = resolvePageSize(request.pageSize);
      validateListFilter(request);
      const afterId = decodePageToken(request.pageToken, isUuid);
      const page = await fetchPage(
        limit,
        (rows) =>
          store.list({
            category: request.category || undefined,
            nameContains: request.q || undefined,
            minPriceCents: request.minPriceCents,
            maxPriceCents: request.maxPriceCents,
            inStock: request.inStock,
            afterId,
            limit: rows,
          }),
        (last) => encodePageToken(last.id),
      );
      return create(ListProductsResponseSchema, { products: page.items, nextPageToken: page.nextPageToken });
    },

    async updateProduct(request, context) {
      await auth.requireAdmin(context);
      const changes = validateProductChanges(request);
      const product = isUuid(request.id) ? await store.update(request.id, changes) : undefined;
      if (product === undefined) throw notFound("product", request.id);
      // Invalidate before answering, so a read that follows this response cannot see the old value.
      await cache.invalidate(product.id);
      onEventsCommitted();
      return create(UpdateProductResponseSchema, { product });
    },

    async deleteProduct(request, context) {
      await auth.requireAdmin(context);
      const deleted = isUuid(request.id) && (await store.delete(request.id));
      if (!deleted) throw notFound("product", request.id);
      await cache.invalidate(request.id);
      onEventsCommitted();
      return create(DeleteProductResponseSchema, {});
    },
  };
}
