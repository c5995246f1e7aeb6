/**
 * The orders module's tables, all in the PostgreSQL schema "orders". Items keep their own copy of
 * the product's name and price, so later catalog changes never alter an order.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  index,
  integer,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { defineOutboxTable } from "../../platform/events/index.js";

export const ordersSchema = pgSchema("orders");

export const ORDER_STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled"] as const;
export type OrderStatusName = (typeof ORDER_STATUSES)[number];

export const orders = ordersSchema.table(
  "orders",
  {
    id: uuid("id").primaryKey(),
    userId: text("user_id").notNull(),
    status: text("status").$type<OrderStatusName>().notNull(),
    subtotalCents: bigint("subtotal_cents", { mode: "bigint" }).notNull(),
    discountCents: bigint("discount_cents", { mode: "bigint" }).notNull(),
    totalCents: bigint("total_cents", { mode: "bigint" }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (table) => [
    check(
      "orders_status_known",
      sql`${table.status} in ('pending', 'paid', 'shipped', 'delivered', 'cancelled')`,
    ),
    check(
      "orders_total_consistent",
      sql`${table.totalCents} = ${table.subtotalCents} - ${table.discountCents}`,
    ),
    // Newest first, per user and overall (ids are UUIDv7, so they break ties in time order).
    index("orders_user_newest_idx").on(table.userId, table.createdAt.desc(), table.id.desc()),
    index("orders_newest_idx").on(table.createdAt.desc(), table.id.desc()),
    // The pending-order expiry sweep reads the oldest pending orders.
    index("orders_pending_oldest_idx").on(table.createdAt).where(sql`${table.status} = 'pending'`),
  ],
);

/**
 * How many orders each user has in `pending` (docs/api.md: MAX_PENDING_ORDERS). Counted up by the
 * statement that creates an order, only while below the limit (the row lock makes concurrent
 * orders of one user take turns), and down by the status change that leaves `pending`.
 */
export const pendingCounts = ordersSchema.table(
  "pending_counts",
  {
    userId: text("user_id").primaryKey(),
    pending: integer("pending").notNull(),
  },
  (table) => [check("pending_counts_not_negative", sql`${table.pending} >= 0`)],
);

export const orderItems = ordersSchema.table(
  "order_items",
  {
    orderId: uuid("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    productId: uuid("product_id").notNull(),
    productName: text("product_name").notNull(),
    quantity: integer("quantity").notNull(),
    unitPriceCents: bigint("unit_price_cents", { mode: "bigint" }).notNull(),
    discountCents: bigint("discount_cents", { mode: "bigint" }).notNull(),
    lineTotalCents: bigint("line_total_cents", { mode: "bigint" }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.orderId, table.productId] }),
    index("order_items_product_idx").on(table.productId),
  ],
);

/**
 * Idempotency-Key records, per user. `request_hash` tells a repeat from a different request;
 * `order_id` is set once the first request has finished. `claim_id` names the attempt that holds
 * an unfinished key: another attempt may take the key over once `created_at` is older than the
 * lease (its holder crashed), and the order of an attempt that lost its key is not stored.
 */
export const idempotencyKeys = ordersSchema.table(
  "idempotency_keys",
  {
    userId: text("user_id").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    orderId: uuid("order_id"),
    claimId: uuid("claim_id"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.userId, table.key] }),
    index("idempotency_keys_created_idx").on(table.createdAt),
  ],
);

/** Order events waiting to be relayed to the bus, written in the same transaction as the change. */
export const ordersOutbox = defineOutboxTable(ordersSchema);

/** One review per user and product; `verified_purchase` is computed from orders when read. */
export const reviews = ordersSchema.table(
  "reviews",
  {
    id: uuid("id").primaryKey(),
    productId: uuid("product_id").notNull(),
    userId: text("user_id").notNull(),
    rating: integer("rating").notNull(),
    comment: text("comment").notNull().default(""),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (table) => [
    check("reviews_rating_range", sql`${table.rating} between 1 and 5`),
    uniqueIndex("reviews_one_per_user_product").on(table.productId, table.userId),
    index("reviews_product_newest_idx").on(table.productId, table.createdAt.desc(), table.id.desc()),
  ],
);

export const STOCK_COMMAND_ACTIONS = ["confirm", "release"] as const;
export type StockCommandAction = (typeof STOCK_COMMAND_ACTIONS)[number];

/**
 * What this module still owes inventory for an order: confirming the reservation of an order that
 * was stored, or returning the stock of one that was cancelled. Written in the same statement or
 * transaction as the order change, deleted once inventory has done it, so a crash or an
 * unreachable inventory between the two is retried by the settlement job instead of forgotten.
 * `due_at` is when the job may take it: a little after it was written (the request itself usually
 * settles it first), later again while a job holds it.
 */
export const stockCommands = ordersSchema.table(
  "stock_commands",
  {
    orderId: uuid("order_id").notNull(),
    action: text("action").$type<StockCommandAction>().notNull(),
    dueAt: timestamp("due_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.orderId, table.action] }),
    check("stock_commands_action_known", sql`${table.action} in ('confirm', 'release')`),
    index("stock_commands_due_idx").on(table.dueAt),
  ],
);
