/**
 * Order persistence. Creating an order and changing its status each record their event in the
 * module's outbox in the same transaction.
 */
import { and, desc, eq, lt, or, type SQL, sql } from "drizzle-orm";
import type { Order } from "../../gen/ecommerce/orders/v1/order_pb.js";
import { anyOf, type Db, rawRows } from "../../platform/db/index.js";
import { appendToOutbox, outboxValues } from "../../platform/events/index.js";
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
import { type StockCommandStore, stockCommandValues } from "./stock-command-store.js";

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
    const rows = await rawRows<{ placed: number; claimed: number }>(
      this.db,
      insertStatement(orderRow, itemRows, confirmDueAt, options),
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

/**
 * OrderStore.insert's one statement. Every write happens only when the order was counted (under
 * the limit, claim held); `placed` and `claimed` say which of the two stopped it.
 */
function insertStatement(
  orderRow: OrderRow,
  itemRows: OrderItemRow[],
  confirmDueAt: Date,
  options: { maxPending: number; idempotency?: IdempotencyClaim },
): SQL {
  const claim = options.idempotency && claimSteps(options.idempotency, orderRow.id);
  return sql`
      with ${claim?.lock ?? sql``}
      ${counted(orderRow.userId, options.maxPending, claim?.held ?? sql``)},
      ${orderWrites(orderRow, itemRows, confirmDueAt)}${claim?.link ?? sql``}
      select (select count(*) from counted)::int as placed, ${claim?.count ?? sql`1`} as claimed`;
}

/**
 * The steps that tie an order to its Idempotency-Key claim. The claim is read with a row lock, so
 * an attempt that took the key over meanwhile is seen.
 */
function claimSteps(key: IdempotencyClaim, orderId: string) {
  return {
    lock: sql`claim as (
          select 1 from ${idempotencyKeys}
          where user_id = ${key.userId} and key = ${key.key} and claim_id = ${key.claimId}::uuid
            and order_id is null
          for update),`,
    /** Counting the order (and so every write) waits on the claim being this attempt's. */
    held: sql`where exists (select 1 from claim)`,
    /** The key answers with this order from now on. */
    link: sql`, keyed as (
          update ${idempotencyKeys} set order_id = ${orderId}::uuid
          where user_id = ${key.userId} and key = ${key.key} and exists (select 1 from counted))`,
    count: sql`(select count(*) from claim)::int`,
  };
}

/** Counts the order among its user's pending ones, unless they hold `maxPending` already. */
function counted(userId: string, maxPending: number, claimHeld: SQL): SQL {
  return sql`counted as (
        insert into ${pendingCounts} (user_id, pending)
        select ${userId}, 1 ${claimHeld}
        on conflict (user_id) do update set pending = ${pendingCounts.pending} + 1
        where ${pendingCounts.pending} < ${maxPending}
        returning 1
      )`;
}

/** The order, its items, the confirmation it owes inventory and its event, each only when counted. */
function orderWrites(orderRow: OrderRow, itemRows: OrderItemRow[], confirmDueAt: Date): SQL {
  const createdAt = orderRow.createdAt.toISOString();
  const itemValues = sql.join(
    itemRows.map(
      (item) =>
        sql`(${item.orderId}::uuid, ${item.productId}::uuid, ${item.productName}, ${item.quantity}::int,
          ${String(item.unitPriceCents)}::bigint, ${String(item.discountCents)}::bigint,
          ${String(item.lineTotalCents)}::bigint)`,
    ),
    sql`, `,
  );
  return sql`placed as (
        insert into ${orders} (id, user_id, status, subtotal_cents, discount_cents, total_cents, created_at, updated_at)
        select ${orderRow.id}::uuid, ${orderRow.userId}, 'pending', ${String(orderRow.subtotalCents)}::bigint,
          ${String(orderRow.discountCents)}::bigint, ${String(orderRow.totalCents)}::bigint,
          ${createdAt}::timestamptz, ${createdAt}::timestamptz
        where exists (select 1 from counted)
      ),
      lined as (
        insert into ${orderItems}
          (order_id, product_id, product_name, quantity, unit_price_cents, discount_cents, line_total_cents)
        select * from (values ${itemValues}) as v where exists (select 1 from counted)
      ),
      owed as (
        insert into ${stockCommands} (order_id, action, due_at)
        select * from (values ${stockCommandValues(orderRow.id, "confirm", confirmDueAt)}) as v
        where exists (select 1 from counted)
      ),
      recorded as (
        insert into ${ordersOutbox} (id, type, subject, payload, trace_context)
        select * from (values ${outboxValues([orderCreatedEvent(orderRow, itemRows)])}) as v
        where exists (select 1 from counted)
      )`;
}

function sortItems(items: OrderItemRow[]): OrderItemRow[] {
  return [...items].sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
}
