/**
 * The statistics module's projection, in the PostgreSQL schema "statistics". Everything here is
 * derived from events; counters are maintained incrementally so reads never scan orders.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  index,
  integer,
  pgSchema,
  primaryKey,
  smallint,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";

export const statisticsSchema = pgSchema("statistics");

/** Events already applied: recorded in the same transaction as their effect. */
export const inbox = statisticsSchema.table(
  "inbox",
  {
    eventId: uuid("event_id").primaryKey(),
    appliedAt: timestamp("applied_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  // The retention purge finds the newest id and the ones a week older through it, instead of
  // scanning a week of event ids (hundreds of millions at a few hundred orders per second).
  (table) => [index("inbox_applied_at_idx").on(table.appliedAt)],
);

export const userOrderStats = statisticsSchema.table("user_order_stats", {
  userId: text("user_id").primaryKey(),
  totalOrders: integer("total_orders").notNull().default(0),
  cancelledOrders: integer("cancelled_orders").notNull().default(0),
  totalSpentCents: bigint("total_spent_cents", { mode: "bigint" }).notNull().default(sql`0`),
});

export const userOrdersByHour = statisticsSchema.table(
  "user_orders_by_hour",
  {
    userId: text("user_id").notNull(),
    hour: smallint("hour").notNull(),
    count: integer("count").notNull().default(0),
  },
  (table) => [primaryKey({ columns: [table.userId, table.hour] })],
);

/** Orders created in each hour of the day (UTC), store-wide: the admin UI's chart. */
export const storeOrdersByHour = statisticsSchema.table("store_orders_by_hour", {
  hour: smallint("hour").primaryKey(),
  count: integer("count").notNull().default(0),
});

/** Store-wide counters: a single row (id 1). */
export const storeTotals = statisticsSchema.table("store_totals", {
  id: smallint("id").primaryKey(),
  totalUsers: integer("total_users").notNull().default(0),
  totalProducts: integer("total_products").notNull().default(0),
  totalOrders: integer("total_orders").notNull().default(0),
  revenueCents: bigint("revenue_cents", { mode: "bigint" }).notNull().default(sql`0`),
});

/** Events that could not be applied (undecodable, unknown type): kept for an operator. */
export const parkedEvents = statisticsSchema.table("parked_events", {
  eventId: uuid("event_id").primaryKey(),
  subject: text("subject").notNull(),
  type: text("type").notNull(),
  reason: text("reason").notNull(),
  payload: text("payload").notNull(),
  parkedAt: timestamp("parked_at", { withTimezone: true, precision: 3 }).notNull(),
});
