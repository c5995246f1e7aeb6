/** REST routes of the catalog, translated one-to-one to InventoryService calls. */

import type { CallOptions, Client } from "@connectrpc/connect";
import { createRoute, type OpenAPIHono, type z } from "@hono/zod-openapi";
import type { InventoryService } from "../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { callOptions } from "./call-options.js";
import { productJsonText, sendJsonText } from "./node-fast-path.js";
import { productJson } from "./product-json.js";
import { errorResponses, jsonBody, jsonContent, pageRequest } from "./route-helpers.js";
import {
  CreateProductBody,
  IdParam,
  ListProductsQuery,
  ProductListSchema,
  ProductSchema,
  UpdateProductBody,
} from "./schemas.js";

const tags = ["products"];
const security = [{ bearerAuth: [] }];

const createProductRoute = createRoute({
  method: "post",
  path: "/products",
  tags,
  security,
  summary: "Create a product (admin)",
  request: { body: jsonBody(CreateProductBody) },
  responses: { 201: jsonContent(ProductSchema, "The created product"), ...errorResponses(400, 401, 403) },
});

/** Only documents GET /products/{id}; the route itself is a plain `app.get` (see registerProductRoutes). */
const getProductRoute = createRoute({
  method: "get",
  path: "/products/{id}",
  tags,
  summary: "Get a product",
  request: { params: IdParam },
  responses: { 200: jsonContent(ProductSchema, "The product"), ...errorResponses(404) },
});

const listProductsRoute = createRoute({
  method: "get",
  path: "/products",
  tags,
  summary: "List products",
  request: { query: ListProductsQuery },
  responses: { 200: jsonContent(ProductListSchema, "One page of products"), ...errorResponses(400) },
});

/** PUT and PATCH are the same partial update. */
const updateProductRoutes = (["put", "patch"] as const).map((method) =>
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
);

const deleteProductRoute = createRoute({
  method: "delete",
  path: "/products/{id}",
  tags,
  security,
  summary: "Delete a product (admin); past orders keep their copy",
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
});

export function registerProductRoutes(app: OpenAPIHono, inventory: Client<typeof InventoryService>): void {
  app.openapi(createProductRoute, async (c) => {
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
  });

  // The hottest route: documented with its path parameter, but registered with a plain app.get and
  // no validator. An id is any string and the module answers not_found for one that does not
  // exist, so a validator would only add a second handler and zod parsing to the hottest read.
  // (Like every route, it runs behind the one metrics middleware that gateway-app.ts installs.)
  app.openAPIRegistry.registerPath(getProductRoute);
  // A GET that reaches the one port is answered before Hono by product-read-shortcut.ts, with the
  // same readProductText; this answers the rest (HEAD, escaped ids, `app.request` in tests).
  app.get("/products/:id", async (c) =>
    sendJsonText(c, 200, await readProductText(inventory, c.req.param("id"), callOptions(c))),
  );

  app.openapi(listProductsRoute, async (c) => {
    const response = await inventory.listProducts(listProductsRequest(c.req.valid("query")), callOptions(c));
    return c.json(
      { products: response.products.map(productJson), next_page_token: response.nextPageToken },
      200,
    );
  });

  for (const route of updateProductRoutes) {
    app.openapi(route, async (c) => {
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
    });
  }

  app.openapi(deleteProductRoute, async (c) => {
    await inventory.deleteProduct({ id: c.req.param("id") }, callOptions(c));
    return c.body(null, 204);
  });
}

/** GET /products/:id: the product's JSON text (made once per cached product object). */
export async function readProductText(
  inventory: Client<typeof InventoryService>,
  id: string,
  options: CallOptions,
): Promise<string> {
  const { product } = await inventory.getProduct({ id }, options);
  if (product === undefined) throw new Error("GetProduct returned no product");
  return productJsonText(product);
}

/** The ListProducts request from the validated query: absent filters are empty or unset. */
function listProductsRequest(query: z.infer<typeof ListProductsQuery>) {
  return {
    category: query.category ?? "",
    q: query.q ?? "",
    minPriceCents: query.min_price_cents === undefined ? undefined : BigInt(query.min_price_cents),
    maxPriceCents: query.max_price_cents === undefined ? undefined : BigInt(query.max_price_cents),
    inStock: query.in_stock === "true",
    ...pageRequest(query),
  };
}
