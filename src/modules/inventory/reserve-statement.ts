/**
 * The one statement ReservationStore.reserve runs (reservation-store.ts says what it guarantees),
 * step by step. One statement, so one round trip and one commit: it locks the products in id
 * order, decides whether every line can be served, and only then inserts the reservation, takes
 * the stock, records the priced lines and appends the stock event — each data-modifying step
 * reads the previous one's output, so nothing is taken when any line fails or the order id is a
 * repeat.
 */
import { type SQL, sql } from "drizzle-orm";
import { ShapedStatement } from "../../platform/db/index.js";
import {
  type NewOutboxEvent,
  outboxPlaceholders,
  outboxPlaceholderValues,
} from "../../platform/events/index.js";
import { discountProducts, discounts } from "./discount-schema.js";
import { reservationLines, reservations } from "./reservation-schema.js";
import { inventoryOutbox, products } from "./schema.js";

/** What the statement answers: one row per wanted product, in product id order. */
export interface ReserveRow {
  product_id: string;
  found: boolean;
  name: string | null;
  price_cents: string | null;
  stock: number | null;
  quantity: number;
  percent_off: number | null;
  claimed: boolean;
  existed: boolean;
  /** The setting the statement's commit ran with: "off" when left to the caller's commit. */
  synchronous_commit: string;
}

interface WantedLine {
  productId: string;
  quantity: number;
}

/**
 * The statement's shape: its number of lines, and whether its commit waits for the write-ahead log
 * to reach the disk (`flushedByCaller: false`, PostgreSQL's synchronous_commit) or leaves that to
 * the caller's own next commit on the same server (docs/guarantees.md, "A reservation's commit").
 */
export interface ReserveShape {
  lineCount: number;
  flushedByCaller: boolean;
}

/** Built once per shape (ShapedStatement): its values are {@link reserveValues}'s. */
export const RESERVE_STATEMENT = new ShapedStatement<ReserveShape>(
  reserveStatement,
  ({ lineCount, flushedByCaller }) => `${lineCount}${flushedByCaller ? " flushed by caller" : ""}`,
);

/**
 * @param wanted one line per product, in product id order (mergeLines).
 * @param event the stock event the reservation appends to the outbox (one, for every line).
 */
export function reserveValues(
  orderId: string,
  wanted: WantedLine[],
  expiresAt: Date,
  now: Date,
  event: NewOutboxEvent,
): Record<string, unknown> {
  const values: Record<string, unknown> = {
    orderId,
    expiresAt: expiresAt.toISOString(),
    at: now.toISOString(),
  };
  wanted.forEach((line, index) => {
    values[`product${index}`] = line.productId;
    values[`quantity${index}`] = line.quantity;
  });
  outboxPlaceholderValues([event], "event", values);
  return values;
}

function reserveStatement({ lineCount, flushedByCaller }: ReserveShape): SQL {
  const values = sql.join(
    Array.from(
      { length: lineCount },
      (_, index) =>
        sql`(${sql.placeholder(`product${index}`)}::uuid, ${sql.placeholder(`quantity${index}`)}::int)`,
    ),
    sql`, `,
  );
  return sql`
      with wanted (product_id, quantity) as (values ${values}),
      ${lockProducts()},
      ${judgeLines(lineCount)},
      ${claimOrderId()},
      ${takeStock()},
      ${priceLines()},
      ${recordLines()},
      ${announceStockChange()}
      ${answer(flushedByCaller)}`;
}

const ORDER_ID = sql.placeholder("orderId");
/** The time of the reservation, as an ISO string. */
const AT = sql.placeholder("at");

/** Locks the wanted products in id order: the one lock order, so no deadlock. */
function lockProducts(): SQL {
  return sql`locked as (
        select p.id, p.name, p.price_cents, p.stock from ${products} p
        where p.id in (select product_id from wanted)
        order by p.id
        for update
      )`;
}

/** Judged on the locked rows: every wanted product exists and has the stock. */
function judgeLines(lineCount: number): SQL {
  return sql`verdict as (
        select count(l.id) = ${lineCount} and coalesce(bool_and(l.stock >= w.quantity), false) as ok
        from wanted w left join locked l on l.id = w.product_id
      )`;
}

/** The reservation row, on a yes and for a new order id only: every write after it is gated on it. */
function claimOrderId(): SQL {
  return sql`claimed as (
        insert into ${reservations} (order_id, status, expires_at, created_at, updated_at)
        select ${ORDER_ID}, 'reserved', ${sql.placeholder("expiresAt")}::timestamptz, ${AT}::timestamptz, ${AT}::timestamptz
        from verdict where ok
        on conflict (order_id) do nothing
        returning order_id
      )`;
}

function takeStock(): SQL {
  return sql`taken as (
        update ${products} p set stock = p.stock - w.quantity, updated_at = ${AT}::timestamptz
        from wanted w
        where p.id = w.product_id and exists (select 1 from claimed)
        returning p.id
      )`;
}

/** Each line's price, with the largest discount in force at `at`. */
function priceLines(): SQL {
  return sql`priced as (
        select l.id as product_id, l.name, l.price_cents, w.quantity,
          coalesce((
            select max(d.percent_off) from ${discountProducts} dp
            join ${discounts} d on d.id = dp.discount_id
            where dp.product_id = l.id and d.starts_at <= ${AT}::timestamptz and d.ends_at > ${AT}::timestamptz
          ), 0) as percent_off
        from wanted w join locked l on l.id = w.product_id
      )`;
}

function recordLines(): SQL {
  return sql`recorded as (
        insert into ${reservationLines}
          (order_id, product_id, product_name, quantity, unit_price_cents, unit_discount_cents)
        -- floor(price * percent / 100), as unitDiscountCents computes it: integer division of
        -- non-negative numbers truncates, which is the floor.
        select c.order_id, p.product_id, p.name, p.quantity, p.price_cents, p.price_cents * p.percent_off / 100
        from priced p, claimed c
      )`;
}

/** The stock event, in the outbox, in the same commit as the stock it announces. */
function announceStockChange(): SQL {
  return sql`announced as (
        insert into ${inventoryOutbox} (id, type, subject, payload, trace_context)
        select e.id, e.type, e.subject, e.payload, e.trace_context
        from (values ${outboxPlaceholders(1, "event")}) e (id, type, subject, payload, trace_context), claimed
      )`;
}

/**
 * The rows of ReserveRow: what was found and claimed, whether the order id held a reservation
 * already, and the synchronous_commit its commit runs with. `flushedByCaller` turns it off for
 * this statement's transaction alone (set_config's `true`; the statement is its own transaction):
 * the commit then returns without waiting for the disk.
 */
function answer(flushedByCaller: boolean): SQL {
  const commitMode = flushedByCaller
    ? sql`set_config('synchronous_commit', 'off', true)`
    : sql`current_setting('synchronous_commit')`;
  return sql`select w.product_id::text, l.id is not null as found, l.name, l.price_cents::text, l.stock,
        w.quantity, p.percent_off,
        exists (select 1 from claimed) as claimed,
        exists (select 1 from ${reservations} r where r.order_id = ${ORDER_ID}) as existed,
        ${commitMode} as synchronous_commit
      from wanted w
      left join locked l on l.id = w.product_id
      left join priced p on p.product_id = w.product_id
      order by w.product_id`;
}
