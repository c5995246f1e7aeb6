/** REST routes of statistics, translated one-to-one to StatisticsService calls. */
import type { Client } from "@connectrpc/connect";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { StatisticsService } from "../gen/ecommerce/statistics/v1/statistics_service_pb.js";
import { callOptions } from "./call-options.js";
import { errorResponses, jsonContent } from "./route-helpers.js";

const tags = ["statistics"];
const security = [{ bearerAuth: [] }];

const OrdersByHourSchema = z
  .array(z.object({ hour: z.number().int(), count: z.number().int() }))
  .openapi({ description: "Always 24 entries, hour 0–23, UTC" });

const UserOrderStatisticsSchema = z
  .object({
    user_id: z.string(),
    total_orders: z.number().int().openapi({ description: "Every order the user created" }),
    orders_by_hour: OrdersByHourSchema,
    cancelled_orders: z.number().int(),
    total_spent_cents: z.number().int().openapi({ description: "Orders that are not cancelled, in cents" }),
  })
  .openapi("UserOrderStatistics");

const UserStatisticsSchema = z
  .object({
    total_users: z.number().int().openapi({ description: "Users with at least one order" }),
    total_products: z.number().int().openapi({ description: "Products that exist now" }),
    total_orders: z.number().int(),
    revenue_cents: z.number().int().openapi({ description: "Orders that are not cancelled, in cents" }),
  })
  .openapi("UserStatistics");

const getUserOrderStatisticsRoute = createRoute({
  method: "get",
  path: "/stats/user-orders/{user_id}",
  tags,
  security,
  summary: "One user's order statistics (a customer reads only their own); eventually consistent",
  request: {
    params: z.object({ user_id: z.string().openapi({ param: { name: "user_id", in: "path" } }) }),
  },
  responses: {
    200: jsonContent(UserOrderStatisticsSchema, "The statistics"),
    ...errorResponses(400, 401, 403),
  },
});

const getUserStatisticsRoute = createRoute({
  method: "get",
  path: "/stats/user",
  tags,
  security,
  summary: "Store-wide statistics (admin); eventually consistent",
  responses: { 200: jsonContent(UserStatisticsSchema, "The statistics"), ...errorResponses(401, 403) },
});

const StoreOrdersByHourSchema = z
  .object({ orders_by_hour: OrdersByHourSchema })
  .openapi("StoreOrdersByHour", { description: "Orders created in each hour of the day, store-wide" });

const getOrdersByHourRoute = createRoute({
  method: "get",
  path: "/stats/orders-by-hour",
  tags,
  security,
  summary: "Orders created in each hour of the day (UTC), store-wide, cancelled ones included (admin)",
  responses: { 200: jsonContent(StoreOrdersByHourSchema, "The hours"), ...errorResponses(401, 403) },
});

export function registerStatisticsRoutes(
  app: OpenAPIHono,
  statistics: Client<typeof StatisticsService>,
): void {
  app.openapi(getUserOrderStatisticsRoute, async (c) => {
    const response = await statistics.getUserOrderStatistics(
      { userId: c.req.param("user_id") },
      callOptions(c),
    );
    return c.json(
      {
        user_id: response.userId,
        total_orders: response.totalOrders,
        orders_by_hour: response.ordersByHour.map(({ hour, count }) => ({ hour, count })),
        cancelled_orders: response.cancelledOrders,
        total_spent_cents: Number(response.totalSpentCents),
      },
      200,
    );
  });

  app.openapi(getUserStatisticsRoute, async (c) => {
    const response = await statistics.getUserStatistics({}, callOptions(c));
    return c.json(
      {
        total_users: response.totalUsers,
        total_products: response.totalProducts,
        total_orders: response.totalOrders,
        revenue_cents: Number(response.revenueCents),
      },
      200,
    );
  });

  app.openapi(getOrdersByHourRoute, async (c) => {
    const response = await statistics.getOrdersByHour({}, callOptions(c));
    return c.json({ orders_by_hour: response.ordersByHour.map(({ hour, count }) => ({ hour, count })) }, 200);
  });
}
