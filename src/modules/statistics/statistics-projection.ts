/**
 * How each event changes the projection. Every effect is an increment, so events of one order may
 * be applied in any order (a redelivered created after its cancellation still sums right).
 *
 * Each event is applied by one statement: a data-modifying CTE records the event id in the inbox
 * and every effect reads from that insert, so an id already there changes nothing, and the id and
 * the effects commit together (a statement is atomic on its own, or part of the caller's
 * transaction). One round trip per event, and no transaction held open across several.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type SQL, sql } from "drizzle-orm";
import {
  ProductCreatedSchema,
  ProductDeletedSchema,
  ProductStockChangedSchema,
  ProductUpdatedSchema,
} from "../../gen/ecommerce/inventory/v1/events_pb.js";
import { OrderCreatedSchema, OrderStatusChangedSchema } from "../../gen/ecommerce/orders/v1/events_pb.js";
import { OrderStatus } from "../../gen/ecommerce/orders/v1/order_pb.js";
import type { Db, Tx } from "../../platform/db/database.js";

/** An event the projection cannot use: parked for an operator instead of retried forever. */
export class PoisonEvent extends Error {}

/** Types that exist but do not change statistics. */
const IGNORED_TYPES = new Set<string>([ProductUpdatedSchema.typeName, ProductStockChangedSchema.typeName]);

/** Whether the event can change statistics at all. */
export function affectsStatistics(type: string): boolean {
  return !IGNORED_TYPES.has(type);
}

/**
 * Applies the event `eventId` once: a second call with the same id changes nothing. Throws
 * {@link PoisonEvent} (before touching the database) for an event it cannot use.
 */
export async function applyEvent(
  db: Db | Tx,
  eventId: string,
  type: string,
  payload: Uint8Array,
): Promise<void> {
  const statement = effectOf(type, payload);
  if (statement === undefined) return;
  await db.execute(sql`
    with fresh as (
      insert into statistics.inbox (event_id, applied_at) values (${eventId}::uuid, now())
      on conflict do nothing
      returning event_id
    )
    ${statement}`);
}

/** The rest of the statement after the `fresh` CTE, or undefined when the event changes nothing. */
function effectOf(type: string, payload: Uint8Array): SQL | undefined {
  switch (type) {
    case OrderCreatedSchema.typeName: {
      const event = decode(() => fromBinary(OrderCreatedSchema, payload));
      if (event.createdAt === undefined) throw new PoisonEvent("order.created without created_at");
      const hour = timestampDate(event.createdAt).getUTCHours();
      // A user counts from their first order on: the one that leaves their count at 1.
      return sql`
        , user_row as (
          insert into statistics.user_order_stats as s (user_id, total_orders, total_spent_cents)
          select ${event.userId}::text, 1, ${event.totalCents}::bigint from fresh
          on conflict (user_id) do update set
            total_orders = s.total_orders + 1,
            total_spent_cents = s.total_spent_cents + excluded.total_spent_cents
          returning total_orders
        ), hour_row as (
          insert into statistics.user_orders_by_hour as h (user_id, hour, count)
          select ${event.userId}::text, ${hour}::smallint, 1 from fresh
          on conflict (user_id, hour) do update set count = h.count + 1
        )
        ${addToTotals(sql`select case when total_orders = 1 then 1 else 0 end, 0, 1, ${event.totalCents}::bigint from user_row`)}`;
    }
    case OrderStatusChangedSchema.typeName: {
      const event = decode(() => fromBinary(OrderStatusChangedSchema, payload));
      // Cancelled is final, so only the move into it changes the figures.
      if (event.to !== OrderStatus.CANCELLED || event.from === OrderStatus.CANCELLED) return undefined;
      return sql`
        , user_row as (
          insert into statistics.user_order_stats as s (user_id, cancelled_orders, total_spent_cents)
          select ${event.userId}::text, 1, -${event.totalCents}::bigint from fresh
          on conflict (user_id) do update set
            cancelled_orders = s.cancelled_orders + 1,
            total_spent_cents = s.total_spent_cents + excluded.total_spent_cents
        )
        ${addToTotals(sql`select 0, 0, 0, -${event.totalCents}::bigint from fresh`)}`;
    }
    case ProductCreatedSchema.typeName:
      decode(() => fromBinary(ProductCreatedSchema, payload));
      return addToTotals(sql`select 0, 1, 0, 0::bigint from fresh`);
    case ProductDeletedSchema.typeName:
      decode(() => fromBinary(ProductDeletedSchema, payload));
      return addToTotals(sql`select 0, -1, 0, 0::bigint from fresh`);
    default:
      throw new PoisonEvent(`unknown event type "${type}"`);
  }
}

function decode<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new PoisonEvent(`undecodable payload: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Adds one row of deltas (users, products, orders, revenue), selected by `delta`, to the store totals. */
function addToTotals(delta: SQL): SQL {
  return sql`
    insert into statistics.store_totals as t (id, total_users, total_products, total_orders, revenue_cents)
    select 1, d.* from (${delta}) as d
    on conflict (id) do update set
      total_users = t.total_users + excluded.total_users,
      total_products = t.total_products + excluded.total_products,
      total_orders = t.total_orders + excluded.total_orders,
      revenue_cents = t.revenue_cents + excluded.revenue_cents`;
}
