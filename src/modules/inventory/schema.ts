/**
 * The inventory module's tables, all in the PostgreSQL schema "inventory". No other module reads
 * them; they learn about products through InventoryService and the product events.
 */
import { sql } from "drizzle-orm";
import { bigint, check, index, integer, pgSchema, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { defineOutboxTable } from "../../platform/events/index.js";

export const inventorySchema = pgSchema("inventory");

export const products = inventorySchema.table(
  "products",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    category: text("category").notNull().default(""),
    priceCents: bigint("price_cents", { mode: "bigint" }).notNull(),
    stock: integer("stock").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (table) => [
    // The last line of defence against oversell: stock can never be written below zero.
    check("products_stock_not_negative", sql`${table.stock} >= 0`),
    check("products_price_not_negative", sql`${table.priceCents} >= 0`),
    index("products_category_id_idx").on(table.category, table.id),
    index("products_price_id_idx").on(table.priceCents, table.id),
  ],
);

export type ProductRow = typeof products.$inferSelect;

/** Product events waiting to be relayed to the bus, written in the same transaction as the change. */
export const inventoryOutbox = defineOutboxTable(inventorySchema);
