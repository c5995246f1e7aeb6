/**
 * Zod schemas of the REST shapes. They check JSON types (a string where a number goes is a 400
 * here) and document the contract in the OpenAPI document; the business rules (lengths, ranges)
 * are enforced by the modules so Connect callers meet the same ones, and are only described here.
 */
import { z } from "@hono/zod-openapi";

const INT32_MAX = 2_147_483_647;

/** An integer that fits a protobuf int32. */
export const int32 = () =>
  z
    .number()
    .int()
    .min(-INT32_MAX - 1)
    .max(INT32_MAX);
/** An integer that is exact as a JSON number (money in cents). */
export const safeInteger = () => z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ example: "invalid_argument" }),
    reason: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

export const ProductSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    category: z.string(),
    price_cents: z.number().int().openapi({ description: "Unit price in minor units (cents)" }),
    stock: z.number().int(),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Product");

export const CreateProductBody = z
  .object({
    name: z.string().openapi({ minLength: 1, maxLength: 200, example: "Espresso cup" }),
    price_cents: safeInteger().openapi({ minimum: 0, example: 1299 }),
    stock: int32().openapi({ minimum: 0, example: 25 }),
    category: z.string().optional().openapi({ maxLength: 100, example: "kitchen" }),
    description: z.string().optional().openapi({ maxLength: 5000 }),
  })
  .openapi("CreateProduct");

export const UpdateProductBody = z
  .object({
    name: z.string().optional().openapi({ minLength: 1, maxLength: 200 }),
    price_cents: safeInteger().optional().openapi({ minimum: 0 }),
    stock: int32().optional().openapi({ minimum: 0 }),
    category: z.string().optional().openapi({ maxLength: 100 }),
    description: z.string().optional().openapi({ maxLength: 5000 }),
  })
  .openapi("UpdateProduct");

const digits = (name: string) =>
  z
    .string()
    .regex(/^\d{1,16}$/, `${name} must be a non-negative integer`)
    .optional();

export const ListProductsQuery = z.object({
  category: z.string().optional(),
  q: z.string().optional().openapi({ description: "Name contains, case-insensitive" }),
  min_price_cents: digits("min_price_cents"),
  max_price_cents: digits("max_price_cents"),
  in_stock: z.enum(["true", "false"]).optional(),
  page_size: z
    .string()
    .regex(/^\d{1,3}$/, "page_size must be an integer between 1 and 100")
    .optional()
    .openapi({ description: "1–100, default 20" }),
  page_token: z.string().optional(),
});

export const ProductListSchema = z
  .object({ products: z.array(ProductSchema), next_page_token: z.string() })
  .openapi("ProductList");

export const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
