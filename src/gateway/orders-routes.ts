/** REST routes of orders, translated one-to-one to OrderService calls. */
import type { Client } from "@connectrpc/connect";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { OrderService } from "../gen/ecommerce/orders/v1/order_service_pb.js";
import { callOptions } from "./call-options.js";
import { authorizationHeader, requestContext } from "./node-fast-path.js";
import { orderJson, orderStatusFromName } from "./order-json.js";
import type { PlaceOrder } from "./order-placement.js";
import {
  CreateOrderBody,
  CreateOrderHeaders,
  ListOrdersQuery,
  OrderListSchema,
  OrderSchema,
  UpdateOrderBody,
} from "./order-schemas.js";
import { errorResponses, jsonBody, jsonContent, pageRequest } from "./route-helpers.js";
import { IdParam } from "./schemas.js";

const tags = ["orders"];
const security = [{ bearerAuth: [] }];

const createOrderRoute = createRoute({
  method: "post",
  path: "/orders",
  tags,
  security,
  summary: "Place an order (a customer for themselves; an admin for any user_id)",
  request: { body: jsonBody(CreateOrderBody), headers: CreateOrderHeaders },
  responses: {
    201: jsonContent(OrderSchema, "The order, pending, with its stock taken"),
    ...errorResponses(400, 401, 403, 404, 409, 422),
  },
});

const getOrderRoute = createRoute({
  method: "get",
  path: "/orders/{id}",
  tags,
  security,
  summary: "Get an order (another user's order is a 404)",
  request: { params: IdParam },
  responses: { 200: jsonContent(OrderSchema, "The order"), ...errorResponses(401, 404) },
});

const listOrdersRoute = createRoute({
  method: "get",
  path: "/orders",
  tags,
  security,
  summary: "List orders, newest first (a customer sees only their own)",
  request: { query: ListOrdersQuery },
  responses: { 200: jsonContent(OrderListSchema, "One page of orders"), ...errorResponses(400, 401) },
});

/** PUT and PATCH are the same status change. */
const updateOrderStatusRoutes = (["put", "patch"] as const).map((method) =>
  createRoute({
    method,
    path: "/orders/{id}",
    tags,
    security,
    summary: `Change an order's status${method === "patch" ? "; same as PUT" : ""}`,
    request: { params: IdParam, body: jsonBody(UpdateOrderBody) },
    responses: {
      200: jsonContent(OrderSchema, "The order after the change"),
      ...errorResponses(400, 401, 403, 404, 409),
    },
  }),
);

/** `placeOrder` places a new order (order-placement.ts); `orders` serves the rest. */
export function registerOrderRoutes(
  app: OpenAPIHono,
  orders: Client<typeof OrderService>,
  placeOrder: PlaceOrder,
): void {
  app.openapi(createOrderRoute, async (c) => {
    const body = c.req.valid("json");
    const { order } = await placeOrder(
      {
        items: body.items.map((item) => ({ productId: item.product_id, quantity: item.quantity })),
        userId: body.user_id ?? "",
        idempotencyKey: c.req.valid("header")["idempotency-key"] ?? "",
      },
      { authorization: authorizationHeader(c), context: requestContext(c) },
    );
    if (order === undefined) throw new Error("CreateOrder returned no order");
    c.header("Location", `/orders/${encodeURIComponent(order.id)}`);
    return c.json(orderJson(order), 201);
  });

  app.openapi(getOrderRoute, async (c) => {
    const { order } = await orders.getOrder({ id: c.req.param("id") }, callOptions(c));
    if (order === undefined) throw new Error("GetOrder returned no order");
    return c.json(orderJson(order), 200);
  });

  app.openapi(listOrdersRoute, async (c) => {
    const query = c.req.valid("query");
    const response = await orders.listOrders(
      {
        userId: query.user_id ?? "",
        status: query.status === undefined ? 0 : orderStatusFromName(query.status),
        ...pageRequest(query),
      },
      callOptions(c),
    );
    return c.json({ orders: response.orders.map(orderJson), next_page_token: response.nextPageToken }, 200);
  });

  for (const route of updateOrderStatusRoutes) {
    app.openapi(route, async (c) => {
      const { order } = await orders.updateOrderStatus(
        { id: c.req.param("id"), status: orderStatusFromName(c.req.valid("json").status) },
        callOptions(c),
      );
      if (order === undefined) throw new Error("UpdateOrderStatus returned no order");
      return c.json(orderJson(order), 200);
    });
  }
}
