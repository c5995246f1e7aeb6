/**
 * The discount methods of InventoryService: admins create, list and delete discounts; anyone may
 * list the products with a discount in force now and their discounted prices.
 */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  CreateDiscountResponseSchema,
  DeleteDiscountResponseSchema,
  type InventoryService,
  ListDiscountedProductsResponseSchema,
  ListDiscountsResponseSchema,
} from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import type { Authenticator } from "../../platform/auth/index.js";
import { isUuid } from "../../platform/ids.js";
import {
  decodePageToken,
  decodeTimeCursor,
  encodePageToken,
  encodeTimeCursor,
  fetchPage,
  notFound,
  resolvePageSize,
} from "../../platform/rpc/index.js";
import { discountedProductFrom, discountFromStored } from "./discount-mapper.js";
import type { DiscountStore } from "./discount-store.js";
import { validateNewDiscount } from "./discount-validation.js";

export interface DiscountHandlersDeps {
  discounts: DiscountStore;
  auth: Authenticator;
  /** The clock that decides which discounts are in force; the system clock unless a test sets one. */
  now?: () => Date;
}

export type DiscountHandlers = Pick<
  ServiceImpl<typeof InventoryService>,
  "createDiscount" | "listDiscounts" | "deleteDiscount" | "listDiscountedProducts"
>;

export function createDiscountHandlers(deps: DiscountHandlersDeps): DiscountHandlers {
  const { discounts, auth } = deps;
  const now = deps.now ?? (() => new Date());

  return {
    async createDiscount(request, context) {
      await auth.requireAdmin(context);
      const stored = await discounts.create(validateNewDiscount(request));
      return create(CreateDiscountResponseSchema, { discount: discountFromStored(stored, now()) });
    },

    async listDiscounts(request, context) {
      await auth.requireAdmin(context);
      const limit = resolvePageSize(request.pageSize);
      const after = decodeTimeCursor(request.pageToken);
      const page = await fetchPage(limit, (rows) => discounts.list(after, rows), encodeTimeCursor);
      const at = now();
      return create(ListDiscountsResponseSchema, {
        discounts: page.items.map((discount) => discountFromStored(discount, at)),
        nextPageToken: page.nextPageToken,
      });
    },

    async deleteDiscount(request, context) {
      await auth.requireAdmin(context);
      const deleted = isUuid(request.id) && (await discounts.delete(request.id));
      if (!deleted) throw notFound("discount", request.id);
      return create(DeleteDiscountResponseSchema, {});
    },

    async listDiscountedProducts(request, context) {
      // Public, but a token that is sent must still be valid.
      if (context.requestHeader.has("authorization")) await auth.identify(context);
      const limit = resolvePageSize(request.pageSize);
      const afterId = decodePageToken(request.pageToken, isUuid);
      const page = await fetchPage(
        limit,
        (rows) => discounts.listDiscountedProducts(now(), afterId, rows),
        (last) => encodePageToken(last.product.id),
      );
      return create(ListDiscountedProductsResponseSchema, {
        products: page.items.map(discountedProductFrom),
        nextPageToken: page.nextPageToken,
      });
    },
  };
}
