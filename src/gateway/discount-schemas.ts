/**
 * Zod schemas of the discount REST shapes: JSON types and the documented ranges, checked all at
 * once, and the OpenAPI document. InventoryService enforces the same rules for RPC callers.
 */
import { z } from "@hono/zod-openapi";
import { ProductSchema, text } from "./schemas.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PRODUCT_IDS_MAX = 1000;

const dateTime = () =>
  z.iso
    .datetime({ offset: true, error: "must be an RFC 3339 date-time, e.g. 2025-01-31T00:00:00Z" })
    .openapi({ format: "date-time" });

export const DiscountSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    percent_off: z.number().int().openapi({ minimum: 1, maximum: 100 }),
    product_ids: z.array(z.string()),
    starts_at: z.string().openapi({ format: "date-time", description: "Applies from this time (inclusive)" }),
    ends_at: z.string().openapi({ format: "date-time", description: "Applies until this time (exclusive)" }),
    active: z.boolean().openapi({ description: "Whether it applies now: starts_at ≤ now < ends_at" }),
    created_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Discount");

export const CreateDiscountBody = z
  .object({
    name: text(200, true).openapi({ minLength: 1, example: "Summer sale" }),
    description: text(5000).optional(),
    percent_off: z
      .int({ error: "must be an integer" })
      .min(1, "must be at least 1")
      .max(100, "must be at most 100")
      .openapi({ example: 15 }),
    product_ids: z
      .array(z.string({ error: "must be a string" }), { error: "must be an array of product ids" })
      .min(1, "must name at least one product")
      .max(PRODUCT_IDS_MAX, `must name at most ${PRODUCT_IDS_MAX} products`)
      .refine((ids) => ids.every((id) => UUID.test(id)), "must contain only product ids (UUIDs)")
      .openapi({ description: "1–1000 ids of existing products; repeats are ignored" }),
    starts_at: dateTime().openapi({ example: "2025-06-01T00:00:00Z" }),
    ends_at: dateTime().openapi({
      example: "2025-09-01T00:00:00Z",
      description: "Must be after starts_at",
    }),
  })
  .refine((body) => Date.parse(body.ends_at) > Date.parse(body.starts_at), {
    path: ["ends_at"],
    message: "must be after starts_at",
    // Compare only once both times parsed, still reporting it beside other fields' errors.
    when: (payload) => {
      const value = payload.value as { starts_at?: unknown; ends_at?: unknown };
      return (
        typeof value === "object" &&
        value !== null &&
        dateTime().safeParse(value.starts_at).success &&
        dateTime().safeParse(value.ends_at).success
      );
    },
  })
  .openapi("CreateDiscount");

export const DiscountListSchema = z
  .object({ discounts: z.array(DiscountSchema), next_page_token: z.string() })
  .openapi("DiscountList");

export const DiscountedProductSchema = ProductSchema.extend({
  percent_off: z.number().int().openapi({ description: "The largest percent off in force now" }),
  discounted_price_cents: z
    .number()
    .int()
    .openapi({ description: "price_cents - floor(price_cents * percent_off / 100)" }),
}).openapi("DiscountedProduct");

export const DiscountedProductListSchema = z
  .object({ products: z.array(DiscountedProductSchema), next_page_token: z.string() })
  .openapi("DiscountedProductList");
