/** Discounts: a percentage off some products during a window. Owned by inventory. */
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { inventorySchema, products } from "./schema.js";

export const discounts = inventorySchema.table(
  "discounts",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    percentOff: integer("percent_off").notNull(),
    startsAt: timestamp("starts_at", { withTimezone: true, precision: 3 }).notNull(),
    endsAt: timestamp("ends_at", { withTimezone: true, precision: 3 }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (table) => [
    check("discounts_percent_off_range", sql`${table.percentOff} between 1 and 100`),
    check("discounts_window_order", sql`${table.endsAt} > ${table.startsAt}`),
    index("discounts_window_idx").on(table.startsAt, table.endsAt),
  ],
);

/** Which products a discount applies to. A deleted product leaves every discount. */
export const discountProducts = inventorySchema.table(
  "discount_products",
  {
    discountId: uuid("discount_id")
      .notNull()
      .references(() => discounts.id, { onDelete: "cascade" }),
    productId: uuid("product_id")
      .notNull()
      .references(() => products.id, { onDelete: "cascade" }),
  },
  (table) => [
    primaryKey({ columns: [table.discountId, table.productId] }),
    index("discount_products_product_idx").on(table.productId),
  ],
);
