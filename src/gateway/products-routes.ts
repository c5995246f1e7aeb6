/** REST routes of the catalog, translated one-to-one to InventoryService calls. */

import type { Client } from "@connectrpc/connect";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { InventoryService } from "../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { callOptions } from "./call-options.js";
import type { HttpMetrics } from "./http-metrics.js";
import { statusOfError } from "./problem.js";
import { productJson, productJsonText } from "./product-json.js";
import { errorResponses, jsonBody, jsonContent, pageRequest } from "./route-helpers.js";
import {
  CreateProductBody,
  IdParam,
  ListProductsQuery,
  ProductListSchema,
  ProductSchema,
  UpdateProductBody,
} from "./schemas.js";
import { sendJsonText } from "./send-json.js";

const tags = ["products"];
const security = [{ bearerAuth: [] }];

export function registerProductRoutes(
  app: OpenAPIHono,
  inventory: Client<typeof InventoryService>,
  metrics: HttpMetrics,
): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/products",
      tags,
      security,
      summary: "Create a product (admin)",
      request: { body: jsonBody(CreateProductBody) },
      responses: { 201: jsonContent(ProductSchema, "The created product"), ...errorResponses(400, 401, 403) },
    }),
    async (c) =>
      metrics.track(c, async () => {
        const body = c.req.valid("json");
        const { product } = await inventory.createProduct(
          {
            name: body.name,
            description: body.description ?? "",
            category: body.category ?? "",
            priceCents: BigInt(body.price_cents),
            stock: body.stock,
          },
          callOptions(c),
        );
        if (product === undefined) throw new Error("CreateProduct returned no product");
        c.header("Location", `/products/${encodeURIComponent(product.id)}`);
        return c.json(productJson(product), 201);
      }),
  );

  // The hottest route: documented with its path parameter, but registered without a validator
  // (an id is any string; the module answers not_found for one that does not exist), which keeps
  // Hono on its single-handler fast path.
  app.openAPIRegistry.registerPath(
    createRoute({
      method: "get",
      path: "/products/{id}",
      tags,
      summary: "Get a product",
      request: { params: IdParam },
      responses: { 200: jsonContent(ProductSchema, "The product"), ...errorResponses(404) },
    }),
  );
  app.get("/products/:id", async (c) => {
    const started = performance.now();
    let status = 200;
    try {
      const { product } = await inventory.getProduct({ id: c.req.param("id") }, callOptions(c));
      if (product === undefined) throw new Error("GetProduct returned no product");
      return sendJsonText(c, 200, productJsonText(product));
    } catch (error) {
      status = statusOfError(error);
      throw error;
    } finally {
      // The route template is known here; asking Hono for it allocates on every request.
      metrics.observe("GET", "/products/:id", status, started);
    }
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/products",
      tags,
      summary: "List products",
      request: { query: ListProductsQuery },
      responses: { 200: jsonContent(ProductListSchema, "One page of products"), ...errorResponses(400) },
    }),
    async (c) =>
      metrics.track(c, async () => {
        const query = c.req.valid("query");
        const response = await inventory.listProducts(
          {
            category: query.category ?? "",
            q: query.q ?? "",
            minPriceCents: query.min_price_cents === undefined ? undefined : BigInt(query.min_price_cents),
            maxPriceCents: query.max_price_cents === undefined ? undefined : BigInt(query.max_price_cents),
            inStock: query.in_stock === "true",
            ...pageRequest(query),
          },
          callOptions(c),
        );
        return c.json(
          { products: response.products.map(productJson), next_page_token: response.nextPageToken },
          200,
        );
      }),
  );

  for (const method of ["put", "patch"] as const) {
    app.openapi(
      createRoute({
        method,
        path: "/products/{id}",
        tags,
        security,
        summary: `Change any subset of a product's fields (admin)${method === "patch" ? "; same as PUT" : ""}`,
        request: { params: IdParam, body: jsonBody(UpdateProductBody) },
        responses: {
          200: jsonContent(ProductSchema, "The product after the change"),
          ...errorResponses(400, 401, 403, 404),
        },
      }),
      async (c) =>
        metrics.track(c, async () => {
          const body = c.req.valid("json");
          const { product } = await inventory.updateProduct(
            {
              id: c.req.param("id"),
              name: body.name,
              description: body.description,
              category: body.category,
              priceCents: body.price_cents === undefined ? undefined : BigInt(body.price_cents),
              stock: body.stock,
            },
            callOptions(c),
          );
          if (product === undefined) throw new Error("UpdateProduct returned no product");
          return c.json(productJson(product), 200);
        }),
    );
  }

  app.openapi(
    createRoute({
      method: "delete",
      path: "/products/{id}",
      tags,
      security,
      summary: "Delete a product (admin); past orders keep their copy",
      request: { params: IdParam },
      responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
    }),
    async (c) =>
      metrics.track(c, async () => {
        await inventory.deleteProduct({ id: c.req.param("id") }, callOptions(c));
        return c.body(null, 204);
      }),
  );
}
