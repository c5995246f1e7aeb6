/**
 * Order persistence. Creating an order and changing its status each record their event in the
 * module's outbox in the same transaction.
 */
import { and, desc, eq, lt, or, type SQL, sql } from "drizzle-orm";
import type { Order } from "../../gen/ecommerce/orders/v1/order_pb.js";
import { anyOf, type Db, ShapedStatement } from "../../platform/db/index.js";
import { appendToOutbox, outboxPlaceholders, outboxPlaceholderValues } from "../../platform/events/index.js";
import { orderCreatedEvent, orderStatusChangedEvent } from "./order-events.js";
import { type OrderItemRow, type OrderRow, orderFromRows } from "./order-mapper.js";
import {
  idempotencyKeys,
  type OrderStatusName,
  orderItems,
  orders,
  ordersOutbox,
  pendingCounts,
  stockCommands,
} from "./schema.js";
import type { StockCommandStore } from "./stock-command-store.js";

export interface NewOrderItem {
  productId: string;
  productName: string;
  quantity: number;
  unitPriceCents: bigint;
  /** For the whole line. */
  discountCents: bigint;
}

export interface OrderListFilter {
  userId?: string;
  status?: OrderStatusName;
  /** Continue after this (created_at, id), newest first. */
  before?: { createdAt: Date; id: string };
  limit: number;
}

/** The Idempotency-Key claim an order is placed under (IdempotencyStore.claim). */
export interface IdempotencyClaim {
  userId: string;
  key: string;
  claimId: string;
}

export class OrderStore {
  /**
   * @param commandGraceMs how long a stock command waits for the request that wrote it to carry it
   *   out before the settlement job may take it over.
   */
  constructor(
    private readonly db: Db,
    private readonly commands: StockCommandStore,
    private readonly commandGraceMs: number,
  ) {}

  /**
   * Inserts a pending order with its items, in one statement that also counts it among its user's
   * pending orders, owes inventory its confirmation, links its Idempotency-Key claim and records
   * its event. Nothing is written when the user already holds `maxPending` pending orders
   * ("too_many_pending") or when the key's claim is no longer this attempt's ("claim_lost": it
   * was taken over after its lease).
   */
  async insert(
    order: { id: string; userId: string; createdAt: Date },
    items: NewOrderItem[],
    options: { maxPending: number; idempotency?: IdempotencyClaim },
  ): Promise<Order | "too_many_pending" | "claim_lost"> {
    const { orderRow, itemRows } = pendingOrderRows(order, items);
    const confirmDueAt = new Date(order.createdAt.getTime() + this.commandGraceMs);
    const shape = { items: itemRows.length, keyed: options.idempotency !== undefined };
    const rows = await INSERT_STATEMENT.rows<{ placed: number; claimed: number }>(
      this.db,
      shape,
      insertValues(orderRow, itemRows, confirmDueAt, options),
    );
    const result = rows[0];
    if (result?.claimed === 0) return "claim_lost";
    if (result?.placed === 0) return "too_many_pending";
    return orderFromRows(orderRow, itemRows);
  }

  /** How many orders `userId` holds in `pending` now (a cheap check before taking stock). */
  async pendingCount(userId: string): Promise<number> {
    const [row] = await this.db
      .select({ pending: pendingCounts.pending })
      .from(pendingCounts)
      .where(eq(pendingCounts.userId, userId));
    return row?.pending ?? 0;
  }

  /** Ids of orders still pending that were created before `cutoff`, oldest first. */
  async pendingBefore(cutoff: Date, limit: number): Promise<string[]> {
    const rows = await this.db
      .select({ id: orders.id })
      .from(orders)
      .where(and(eq(orders.status, "pending"), lt(orders.createdAt, cutoff)))
      .orderBy(orders.createdAt)
      .limit(limit);
    return rows.map((row) => row.id);
  }

  async get(id: string): Promise<Order | undefined> {
    const [row] = await this.db.select().from(orders).where(eq(orders.id, id));
    if (row === undefined) return undefined;
    const items = await this.db.select().from(orderItems).where(eq(orderItems.orderId, id));
    return orderFromRows(row, sortItems(items));
  }

  async list(filter: OrderListFilter): Promise<{ orders: Order[]; last?: OrderRow }> {
    const conditions: SQL[] = [];
    if (filter.userId !== undefined) conditions.push(eq(orders.userId, filter.userId));
    if (filter.status !== undefined) conditions.push(eq(orders.status, filter.status));
    if (filter.before !== undefined) {
      const { createdAt, id } = filter.before;
      conditions.push(
        or(lt(orders.createdAt, createdAt), and(eq(orders.createdAt, createdAt), lt(orders.id, id))) as SQL,
      );
    }
    const rows = await this.db
      .select()
      .from(orders)
      .where(and(...conditions))
      .orderBy(desc(orders.createdAt), desc(orders.id))
      .limit(filter.limit);
    if (rows.length === 0) return { orders: [] };
    const items = await this.db
      .select()
      .from(orderItems)
      .where(
        anyOf(
          orderItems.orderId,
          rows.map((row) => row.id),
        ),
      );
    const byOrder = new Map<string, OrderItemRow[]>();
    for (const item of items) byOrder.set(item.orderId, [...(byOrder.get(item.orderId) ?? []), item]);
    return {
      orders: rows.map((row) => orderFromRows(row, sortItems(byOrder.get(row.id) ?? []))),
      last: rows[rows.length - 1],
    };
  }

  /**
   * Moves an order from `from` to `to`; undefined when it was no longer in `from` (a concurrent
   * change won), so a status change and its event happen once.
   */
  async changeStatus(
    id: string,
    from: OrderStatusName,
    to: OrderStatusName,
    now = new Date(),
  ): Promise<Order | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(orders)
        .set({ status: to, updatedAt: now })
        .where(and(eq(orders.id, id), eq(orders.status, from)))
        .returning();
      if (row === undefined) return undefined;
      await appendToOutbox(tx, ordersOutbox, [orderStatusChangedEvent(row, from)]);
      if (from === "pending") {
        await tx
          .update(pendingCounts)
          .set({ pending: sql`${pendingCounts.pending} - 1` })
          .where(eq(pendingCounts.userId, row.userId));
      }
      // A cancelled order's stock goes back, however long inventory takes to be reachable.
      if (to === "cancelled")
        await this.commands.add(tx, id, "release", new Date(now.getTime() + this.commandGraceMs));
      const items = await tx.select().from(orderItems).where(eq(orderItems.orderId, id));
      return orderFromRows(row, sortItems(items));
    });
  }
}

/** A new pending order's rows: each item's line total, and the order's totals. */
function pendingOrderRows(
  order: { id: string; userId: string; createdAt: Date },
  items: NewOrderItem[],
): { orderRow: OrderRow; itemRows: OrderItemRow[] } {
  const itemRows: OrderItemRow[] = items.map((item) => ({
    orderId: order.id,
    ...item,
    lineTotalCents: BigInt(item.quantity) * item.unitPriceCents - item.discountCents,
  }));
  const subtotalCents = items.reduce((sum, item) => sum + BigInt(item.quantity) * item.unitPriceCents, 0n);
  const discountCents = items.reduce((sum, item) => sum + item.discountCents, 0n);
  const orderRow: OrderRow = {
    id: order.id,
    userId: order.userId,
    status: "pending",
    subtotalCents,
    discountCents,
    totalCents: subtotalCents - discountCents,
    createdAt: order.createdAt,
    updatedAt: order.createdAt,
  };
  return { orderRow, itemRows };
}

/** How an insert statement is made: its item count, and whether an Idempotency-Key claim is held. */
interface InsertShape {
  items: number;
  keyed: boolean;
}

/**
 * OrderStore.insert's one statement, built once per shape (ShapedStatement). Every write happens
 * only when the order was counted (under the limit, claim held); `placed` and `claimed` say which
 * of the two stopped it. Its values are {@link insertValues}'s.
 */
const INSERT_STATEMENT = new ShapedStatement<InsertShape>(
  insertStatement,
  (shape) => `${shape.items}${shape.keyed ? "k" : ""}`,
);

/** A placeholder of the insert statement. */
const value = (name: string) => sql.placeholder(name);

function insertStatement(shape: InsertShape): SQL {
  const claim = shape.keyed ? CLAIM_STEPS : undefined;
  return sql`
      with ${claim?.lock ?? sql``}
      ${counted(claim?.held ?? sql``)},
      ${orderWrites(shape.items)}${claim?.link ?? sql``}
      select (select count(*) from counted)::int as placed, ${claim?.count ?? sql`1`} as claimed`;
}

function insertValues(
  orderRow: OrderRow,
  itemRows: OrderItemRow[],
  confirmDueAt: Date,
  options: { maxPending: number; idempotency?: IdempotencyClaim },
): Record<string, unknown> {
  const createdAt = orderRow.createdAt.toISOString();
  const values: Record<string, unknown> = {
    orderId: orderRow.id,
    userId: orderRow.userId,
    maxPending: options.maxPending,
    subtotalCents: String(orderRow.subtotalCents),
    discountCents: String(orderRow.discountCents),
    totalCents: String(orderRow.totalCents),
    createdAt,
    confirmDueAt: confirmDueAt.toISOString(),
  };
  if (options.idempotency !== undefined) {
    values.keyUserId = options.idempotency.userId;
    values.key = options.idempotency.key;
    values.claimId = options.idempotency.claimId;
  }
  itemRows.forEach((item, index) => {
    values[`item${index}product`] = item.productId;
    values[`item${index}name`] = item.productName;
    values[`item${index}quantity`] = item.quantity;
    values[`item${index}unitPrice`] = String(item.unitPriceCents);
    values[`item${index}discount`] = String(item.discountCents);
    values[`item${index}lineTotal`] = String(item.lineTotalCents);
  });
  outboxPlaceholderValues([orderCreatedEvent(orderRow, itemRows)], "event", values);
  return values;
}

/**
 * The steps that tie an order to its Idempotency-Key claim. The claim is read with a row lock, so
 * an attempt that took the key over meanwhile is seen.
 */
const CLAIM_STEPS = {
  lock: sql`claim as (
          select 1 from ${idempotencyKeys}
          where user_id = ${value("keyUserId")} and key = ${value("key")} and claim_id = ${value("claimId")}::uuid
            and order_id is null
          for update),`,
  /** Counting the order (and so every write) waits on the claim being this attempt's. */
  held: sql`where exists (select 1 from claim)`,
  /** The key answers with this order from now on. */
  link: sql`, keyed as (
          update ${idempotencyKeys} set order_id = ${value("orderId")}::uuid
          where user_id = ${value("keyUserId")} and key = ${value("key")} and exists (select 1 from counted))`,
  count: sql`(select count(*) from claim)::int`,
};

/** Counts the order among its user's pending ones, unless they hold `maxPending` already. */
function counted(claimHeld: SQL): SQL {
  return sql`counted as (
        insert into ${pendingCounts} (user_id, pending)
        select ${value("userId")}, 1 ${claimHeld}
        on conflict (user_id) do update set pending = ${pendingCounts.pending} + 1
        where ${pendingCounts.pending} < ${value("maxPending")}
        returning 1
      )`;
}

/** The order, its items, the confirmation it owes inventory and its event, each only when counted. */
function orderWrites(itemCount: number): SQL {
  const itemValues = sql.join(
    Array.from({ length: itemCount }, (_, index) => {
      const item = (field: string) => value(`item${index}${field}`);
      return sql`(${value("orderId")}::uuid, ${item("product")}::uuid, ${item("name")}, ${item("quantity")}::int,
          ${item("unitPrice")}::bigint, ${item("discount")}::bigint, ${item("lineTotal")}::bigint)`;
    }),
    sql`, `,
  );
  return sql`placed as (
        insert into ${orders} (id, user_id, status, subtotal_cents, discount_cents, total_cents, created_at, updated_at)
        select ${value("orderId")}::uuid, ${value("userId")}, 'pending', ${value("subtotalCents")}::bigint,
          ${value("discountCents")}::bigint, ${value("totalCents")}::bigint,
          ${value("createdAt")}::timestamptz, ${value("createdAt")}::timestamptz
        where exists (select 1 from counted)
      ),
      lined as (
        insert into ${orderItems}
          (order_id, product_id, product_name, quantity, unit_price_cents, discount_cents, line_total_cents)
        select * from (values ${itemValues}) as v where exists (select 1 from counted)
      ),
      owed as (
        insert into ${stockCommands} (order_id, action, due_at)
        select * from (values (${value("orderId")}::uuid, 'confirm', ${value("confirmDueAt")}::timestamptz)) as v
        where exists (select 1 from counted)
      ),
      recorded as (
        insert into ${ordersOutbox} (id, type, subject, payload, trace_context)
        select * from (values ${outboxPlaceholders(1, "event")}) as v
        where exists (select 1 from counted)
      )`;
}

function sortItems(items: OrderItemRow[]): OrderItemRow[] {
  return [...items].sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
}
