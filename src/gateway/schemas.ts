/**
 * Zod schemas of the REST shapes. They check JSON types and the documented ranges, so a caller
 * learns about every wrong field in one 400 (a type error would otherwise hide a range error the
 * module finds later), and they generate the OpenAPI document. The modules enforce the same rules
 * again, with the same messages, for Connect and gRPC callers.
 */
import { z } from "@hono/zod-openapi";

const integerMessage = { error: "must be an integer" };

/** docs/api.md, "Limits", amounts (the modules hold the same bounds). */
const STOCK_MAX = 1_000_000_000;
const PRICE_MAX = 10_000_000_000;

/** A non-negative count of units in stock. */
export const count = () =>
  z.int(integerMessage).min(0, "must be at least 0").max(STOCK_MAX, `must be at most ${STOCK_MAX}`);
/** A non-negative price in cents. */
export const cents = () =>
  z.int(integerMessage).min(0, "must be at least 0").max(PRICE_MAX, `must be at most ${PRICE_MAX}`);
/** Text of at most `max` characters (code points, as the modules count); `required` rejects blank text. */
export const text = (max: number, required = false) => {
  const base = z
    .string({ error: "must be a string" })
    .refine((value) => [...value].length <= max, `must be at most ${max} characters`)
    .openapi({ maxLength: max });
  return required ? base.refine((value) => value.trim() !== "", "must not be empty") : base;
};

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
    name: text(200, true).openapi({ minLength: 1, example: "Espresso cup" }),
    price_cents: cents().openapi({ example: 1299 }),
    stock: count().openapi({ example: 25 }),
    category: text(100).optional().openapi({ example: "kitchen" }),
    description: text(5000).optional(),
  })
  .openapi("CreateProduct");

export const UpdateProductBody = z
  .object({
    name: text(200, true).optional().openapi({ minLength: 1 }),
    price_cents: cents().optional(),
    stock: count().optional(),
    category: text(100).optional(),
    description: text(5000).optional(),
  })
  .openapi("UpdateProduct");

const digits = () =>
  z
    .string()
    .regex(/^\d{1,15}$/, "must be a non-negative integer")
    .optional();

/** page_size and page_token, as every list takes them (page_size 1–100; absent means 20). */
export const PagingQuery = z.object({
  page_size: z
    .string()
    .refine(
      (value) => /^\d{1,3}$/.test(value) && Number(value) >= 1 && Number(value) <= 100,
      "must be an integer between 1 and 100",
    )
    .optional()
    .openapi({ description: "1–100, default 20" }),
  page_token: z.string().optional(),
});

export const ListProductsQuery = z.object({
  category: z.string().optional(),
  q: z.string().optional().openapi({ description: "Name contains, case-insensitive" }),
  min_price_cents: digits(),
  max_price_cents: digits(),
  in_stock: z.enum(["true", "false"]).optional(),
  ...PagingQuery.shape,
});

export const ProductListSchema = z
  .object({ products: z.array(ProductSchema), next_page_token: z.string() })
  .openapi("ProductList");

export const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
