/**
 * How each event changes the projection: batches applied in one statement that records their ids
 * in the inbox and sums the effects of the new ones only, rows locked in one order.
 * docs/guarantees.md, "No lost or doubled events; statistics exactly once".
 */
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type SQL, sql } from "drizzle-orm";
import {
  ProductCreatedSchema,
  ProductDeletedSchema,
  ProductStockChangedSchema,
  ProductUpdatedSchema,
  StockChangedSchema,
} from "../../gen/ecommerce/inventory/v1/events_pb.js";
import { OrderCreatedSchema, OrderStatusChangedSchema } from "../../gen/ecommerce/orders/v1/events_pb.js";
import { OrderStatus } from "../../gen/ecommerce/orders/v1/order_pb.js";
import type { Db, Tx } from "../../platform/db/index.js";

/** An event the projection cannot use: parked for an operator instead of retried forever. */
export class PoisonEvent extends Error {}

/** Types that exist but do not change statistics. */
const IGNORED_TYPES = new Set<string>([
  ProductUpdatedSchema.typeName,
  StockChangedSchema.typeName,
  ProductStockChangedSchema.typeName,
]);

/** Whether the event can change statistics at all. */
export function affectsStatistics(type: string): boolean {
  return !IGNORED_TYPES.has(type);
}

/** An event as the projection needs it. */
export interface ProjectionEvent {
  readonly id: string;
  readonly type: string;
  readonly payload: Uint8Array;
}

/**
 * What one event adds: to a user (when `user_id` is set), to that user's and the store's hour
 * (when `hour` is set, one order) and to the store. Field names are the columns of the statement's input.
 */
interface Delta {
  event_id: string;
  user_id: string | null;
  hour: number | null;
  orders: number;
  cancelled: number;
  /** Cents, as a decimal string: exact for any int64. */
  spent: string;
  products: number;
}

/** Events of a batch that could not be used, each with the reason; the rest were applied. */
export interface AppliedBatch<E extends ProjectionEvent> {
  poisoned: { event: E; error: PoisonEvent }[];
}

/**
 * Applies each usable event of `events` once, all in one statement: events whose id was applied
 * before (or that repeat one earlier in the list) change nothing. Events it cannot use are left
 * out (before the database is touched) and returned, for the caller to park.
 */
export async function applyEvents<E extends ProjectionEvent>(
  db: Db | Tx,
  events: readonly E[],
): Promise<AppliedBatch<E>> {
  const poisoned: AppliedBatch<E>["poisoned"] = [];
  const deltas = new Map<string, Delta>();
  for (const event of events) {
    try {
      const delta = deltaOf(event);
      // Keyed as PostgreSQL compares uuids, so two spellings of one id count once.
      const id = event.id.toLowerCase();
      if (delta !== undefined && !deltas.has(id)) deltas.set(id, delta);
    } catch (error) {
      if (!(error instanceof PoisonEvent)) throw error;
      poisoned.push({ event, error });
    }
  }
  if (deltas.size > 0) await db.execute(applyStatement([...deltas.values()]));
  return { poisoned };
}

/** The statement that applies `deltas` (events with distinct ids). */
function applyStatement(deltas: readonly Delta[]): SQL {
  // One parameter (the batch as JSON), so the statement text, and its prepared plan, is the same
  // for every batch size.
  return sql`
    with input as (
      select * from jsonb_to_recordset(${JSON.stringify(deltas)}::jsonb) as e(
        event_id uuid, user_id text, hour smallint, orders int, cancelled int, spent bigint, products int)
    ), fresh as (
      insert into statistics.inbox (event_id, applied_at)
      select event_id, now() from input
      on conflict do nothing
      returning event_id
    ), applied as (
      select input.* from input join fresh using (event_id)
    ), per_user as (
      select user_id, sum(orders)::int as orders, sum(cancelled)::int as cancelled, sum(spent)::bigint as spent
      from applied where user_id is not null group by user_id
    ), user_rows as (
      insert into statistics.user_order_stats as s (user_id, total_orders, cancelled_orders, total_spent_cents)
      select user_id, orders, cancelled, spent from per_user order by user_id
      on conflict (user_id) do update set
        total_orders = s.total_orders + excluded.total_orders,
        cancelled_orders = s.cancelled_orders + excluded.cancelled_orders,
        total_spent_cents = s.total_spent_cents + excluded.total_spent_cents
      returning user_id, total_orders
    ), hour_rows as (
      insert into statistics.user_orders_by_hour as h (user_id, hour, count)
      select user_id, hour, sum(orders)::int from applied where hour is not null
      group by user_id, hour order by user_id, hour
      on conflict (user_id, hour) do update set count = h.count + excluded.count
    ), store_hour_rows as (
      insert into statistics.store_orders_by_hour as sh (hour, count)
      select hour, sum(orders)::int from applied where hour is not null
      group by hour order by hour
      on conflict (hour) do update set count = sh.count + excluded.count
    )
    insert into statistics.store_totals as t (id, total_users, total_products, total_orders, revenue_cents)
    select 1,
      -- A user counts from their first order on: the batch that takes their count from 0.
      (select count(*) from user_rows join per_user using (user_id)
        where per_user.orders > 0 and user_rows.total_orders = per_user.orders)::int,
      sum(products)::int, sum(orders)::int, sum(spent)::bigint
    from applied
    having count(*) > 0
    on conflict (id) do update set
      total_users = t.total_users + excluded.total_users,
      total_products = t.total_products + excluded.total_products,
      total_orders = t.total_orders + excluded.total_orders,
      revenue_cents = t.revenue_cents + excluded.revenue_cents`;
}

/** The event's effect, or undefined when it changes nothing. */
function deltaOf(event: ProjectionEvent): Delta | undefined {
  const none = {
    event_id: event.id,
    user_id: null,
    hour: null,
    orders: 0,
    cancelled: 0,
    spent: "0",
    products: 0,
  };
  switch (event.type) {
    case OrderCreatedSchema.typeName: {
      const created = decode(() => fromBinary(OrderCreatedSchema, event.payload));
      if (created.createdAt === undefined) throw new PoisonEvent("order.created without created_at");
      const hour = timestampDate(created.createdAt).getUTCHours();
      return { ...none, user_id: created.userId, hour, orders: 1, spent: String(created.totalCents) };
    }
    case OrderStatusChangedSchema.typeName: {
      const changed = decode(() => fromBinary(OrderStatusChangedSchema, event.payload));
      // Cancelled is final, so only the move into it changes the figures.
      if (changed.to !== OrderStatus.CANCELLED || changed.from === OrderStatus.CANCELLED) return undefined;
      return { ...none, user_id: changed.userId, cancelled: 1, spent: String(-changed.totalCents) };
    }
    case ProductCreatedSchema.typeName:
      decode(() => fromBinary(ProductCreatedSchema, event.payload));
      return { ...none, products: 1 };
    case ProductDeletedSchema.typeName:
      decode(() => fromBinary(ProductDeletedSchema, event.payload));
      return { ...none, products: -1 };
    default:
      if (IGNORED_TYPES.has(event.type)) return undefined;
      throw new PoisonEvent(`unknown event type "${event.type}"`);
  }
}

function decode<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new PoisonEvent(`undecodable payload: ${error instanceof Error ? error.message : String(error)}`);
  }
}
