/** REST routes of discounts, translated one-to-one to InventoryService calls. */

import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { InventoryService } from "../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { callOptions } from "./call-options.js";
import { discountedProductJson, discountJson } from "./discount-json.js";
import {
  CreateDiscountBody,
  DiscountedProductListSchema,
  DiscountListSchema,
  DiscountSchema,
} from "./discount-schemas.js";
import { errorResponses, jsonBody, jsonContent, pageRequest } from "./route-helpers.js";
import { IdParam, PagingQuery } from "./schemas.js";

const tags = ["discounts"];
const security = [{ bearerAuth: [] }];

const listDiscountedProductsRoute = createRoute({
  method: "get",
  path: "/discounts/products",
  tags,
  summary: "List the products with a discount in force now, with their discounted price",
  request: { query: PagingQuery },
  responses: {
    200: jsonContent(DiscountedProductListSchema, "One page of discounted products, by product id"),
    ...errorResponses(400, 401),
  },
});

const createDiscountRoute = createRoute({
  method: "post",
  path: "/discounts",
  tags,
  security,
  summary: "Create a discount (admin)",
  request: { body: jsonBody(CreateDiscountBody) },
  responses: {
    201: jsonContent(DiscountSchema, "The created discount"),
    ...errorResponses(400, 401, 403, 404),
  },
});

const listDiscountsRoute = createRoute({
  method: "get",
  path: "/discounts",
  tags,
  security,
  summary: "List discounts, newest first (admin)",
  request: { query: PagingQuery },
  responses: {
    200: jsonContent(DiscountListSchema, "One page of discounts"),
    ...errorResponses(400, 401, 403),
  },
});

const deleteDiscountRoute = createRoute({
  method: "delete",
  path: "/discounts/{id}",
  tags,
  security,
  summary: "Delete a discount (admin)",
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
});

export function registerDiscountRoutes(app: OpenAPIHono, inventory: Client<typeof InventoryService>): void {
  // Registered first and with no GET /discounts/{id} beside it, so "products" is never read as an id.
  app.openapi(listDiscountedProductsRoute, async (c) => {
    const response = await inventory.listDiscountedProducts(
      { ...pageRequest(c.req.valid("query")) },
      callOptions(c),
    );
    return c.json(
      { products: response.products.map(discountedProductJson), next_page_token: response.nextPageToken },
      200,
    );
  });

  app.openapi(createDiscountRoute, async (c) => {
    const body = c.req.valid("json");
    const { discount } = await inventory.createDiscount(
      {
        name: body.name,
        description: body.description ?? "",
        percentOff: body.percent_off,
        productIds: body.product_ids,
        startsAt: timestampFromDate(new Date(body.starts_at)),
        endsAt: timestampFromDate(new Date(body.ends_at)),
      },
      callOptions(c),
    );
    if (discount === undefined) throw new Error("CreateDiscount returned no discount");
    return c.json(discountJson(discount), 201);
  });

  app.openapi(listDiscountsRoute, async (c) => {
    const response = await inventory.listDiscounts({ ...pageRequest(c.req.valid("query")) }, callOptions(c));
    return c.json(
      { discounts: response.discounts.map(discountJson), next_page_token: response.nextPageToken },
      200,
    );
  });

  app.openapi(deleteDiscountRoute, async (c) => {
    await inventory.deleteDiscount({ id: c.req.param("id") }, callOptions(c));
    return c.body(null, 204);
  });
}
