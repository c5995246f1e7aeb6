/**
 * Stock reservations: stock taken for an order, keyed by the order id so a retry cannot take it
 * twice, with the lines priced as the catalog had them at that moment. A reservation that is not
 * confirmed before it expires is released by a scheduled job (the order was never created).
 */
import { sql } from "drizzle-orm";
import { bigint, check, index, integer, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { inventorySchema } from "./schema.js";

export const RESERVATION_STATUSES = ["reserved", "confirmed", "released"] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

export const reservations = inventorySchema.table(
  "reservations",
  {
    orderId: text("order_id").primaryKey(),
    status: text("status").$type<ReservationStatus>().notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true, precision: 3 }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (table) => [
    check("reservations_status_known", sql`${table.status} in ('reserved', 'confirmed', 'released')`),
    // The expiry job's query: unconfirmed reservations past their time.
    index("reservations_expiring_idx").on(table.expiresAt).where(sql`${table.status} = 'reserved'`),
  ],
);

/** No foreign key to products: a line keeps its copy of the name and price after a product goes. */
export const reservationLines = inventorySchema.table(
  "reservation_lines",
  {
    orderId: text("order_id")
      .notNull()
      .references(() => reservations.orderId, { onDelete: "cascade" }),
    productId: uuid("product_id").notNull(),
    productName: text("product_name").notNull(),
    quantity: integer("quantity").notNull(),
    unitPriceCents: bigint("unit_price_cents", { mode: "bigint" }).notNull(),
    unitDiscountCents: bigint("unit_discount_cents", { mode: "bigint" }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.orderId, table.productId] })],
);
