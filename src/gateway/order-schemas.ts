/** Zod schemas of the order REST shapes: JSON types and documented ranges (the module checks them again). */
import { z } from "@hono/zod-openapi";
import { ORDER_STATUS_NAMES } from "./order-json.js";
import { PagingQuery } from "./schemas.js";

const money = () => z.number().int().openapi({ description: "Integer cents" });

export const OrderItemSchema = z
  .object({
    product_id: z.string(),
    product_name: z.string(),
    quantity: z.number().int(),
    unit_price_cents: money(),
    discount_cents: money(),
    line_total_cents: money(),
  })
  .openapi("OrderItem");

export const OrderSchema = z
  .object({
    id: z.string(),
    user_id: z.string(),
    status: z.enum(ORDER_STATUS_NAMES),
    items: z.array(OrderItemSchema),
    subtotal_cents: money(),
    discount_cents: money(),
    total_cents: money(),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Order");

export const CreateOrderBody = z
  .object({
    items: z
      .array(
        z.object({
          product_id: z.string({ error: "must be a string" }),
          quantity: z
            .int({ error: "must be an integer" })
            .min(1, "must be at least 1")
            .max(1000, "must be at most 1000"),
        }),
        { error: "must be an array of {product_id, quantity}" },
      )
      .min(1, "must have between 1 and 100 lines")
      .max(100, "must have between 1 and 100 lines"),
    user_id: z.string().optional().openapi({ description: "Admins only: the user to order for" }),
  })
  .openapi("CreateOrder");

export const CreateOrderHeaders = z.object({
  "idempotency-key": z
    .string()
    .min(1, "must be 1–255 characters")
    .max(255, "must be 1–255 characters")
    .optional()
    .openapi({ description: "Repeat-safe creation: same key and body return the first response" }),
});

export const UpdateOrderBody = z.object({ status: z.enum(ORDER_STATUS_NAMES) }).openapi("UpdateOrderStatus");

export const ListOrdersQuery = z.object({
  user_id: z.string().optional().openapi({ description: "Admins only" }),
  status: z.enum(ORDER_STATUS_NAMES).optional(),
  ...PagingQuery.shape,
});

export const OrderListSchema = z
  .object({ orders: z.array(OrderSchema), next_page_token: z.string() })
  .openapi("OrderList");

export const OrderCreatedEventSchema = z
  .object({
    order_id: z.string(),
    user_id: z.string(),
    status: z.enum(ORDER_STATUS_NAMES).openapi({ description: "Always pending" }),
    subtotal_cents: money(),
    discount_cents: money(),
    total_cents: money(),
    item_count: z.number().int().openapi({ description: "Units over all lines" }),
    created_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("OrderCreatedEvent", { description: "The data of an `order.created` event (GET /orders/events)" });

export const OrderStatusChangedEventSchema = z
  .object({
    order_id: z.string(),
    user_id: z.string(),
    from: z.enum(ORDER_STATUS_NAMES),
    to: z.enum(ORDER_STATUS_NAMES),
    total_cents: money(),
    created_at: z.string().openapi({ format: "date-time" }),
    changed_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("OrderStatusChangedEvent", {
    description: "The data of an `order.status_changed` event (GET /orders/events)",
  });
