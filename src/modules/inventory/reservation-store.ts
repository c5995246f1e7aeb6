/**
 * Taking and returning stock, all or nothing, keyed by order id.
 *
 * No oversell: the product rows are locked before their stock is judged, so the row lock decides
 * between concurrent orders, and the `stock >= 0` check refuses anything that slipped by. No
 * deadlock: lines are merged per product and locked in product id order, so concurrent multi-line
 * orders lock rows in the same order. Exactly once: the reservation row keyed by the order id gates
 * the stock change (a retry with the same order id waits for, then returns, the first one) and is
 * released by a single status change.
 */
import { Code, type ConnectError } from "@connectrpc/connect";
import { and, asc, eq, inArray, lte, sql } from "drizzle-orm";
import { anyOf, type Db } from "../../platform/db/index.js";
import { appendToOutbox, type NewOutboxEvent } from "../../platform/events/index.js";
import { businessError, notFound } from "../../platform/rpc/index.js";
import { unitDiscountCents } from "./discount-price.js";
import { type StockDelta, stockChangedEvent } from "./product-events.js";
import { type ReservationStatus, reservationLines, reservations } from "./reservation-schema.js";
import { RESERVE_STATEMENT, type ReserveRow, reserveValues } from "./reserve-statement.js";
import { inventoryOutbox, products } from "./schema.js";

export interface StockRequestLine {
  productId: string;
  quantity: number;
}

export interface ReservedLineRow {
  productId: string;
  productName: string;
  quantity: number;
  unitPriceCents: bigint;
  unitDiscountCents: bigint;
}

export interface Reservation {
  orderId: string;
  lines: ReservedLineRow[];
  expiresAt: Date;
}

/** The products whose stock a call changed, and the id of the one event announcing them. */
export interface StockChange {
  productIds: string[];
  eventId: string;
}

export interface ReleaseResult {
  released: boolean;
  /** The stock change (none, or one), for cache invalidation. */
  changes: StockChange[];
}

export interface ConfirmResult {
  /** Orders whose stock had already been returned. */
  released: string[];
  /** Orders without a reservation. */
  unknown: string[];
}

export class ReservationStore {
  constructor(private readonly db: Db) {}

  /**
   * Takes stock for every line or for none, in one statement (reserve-statement.ts). Resolves with
   * the reservation (the first one, for a repeated order id) and the products whose stock changed.
   * `flushedByCaller`: the caller commits to this same PostgreSQL server after it (the order), so
   * this commit need not wait for the disk (docs/guarantees.md, "A reservation's commit").
   */
  async reserve(
    orderId: string,
    lines: StockRequestLine[],
    ttlMs: number,
    { now = new Date(), flushedByCaller = false }: { now?: Date; flushedByCaller?: boolean } = {},
  ): Promise<{ reservation: Reservation; changes: StockChange[] }> {
    const merged = mergeLines(lines);
    const expiresAt = new Date(now.getTime() + ttlMs);
    const { event, change } = stockChange(
      orderId,
      merged.map((line) => ({ productId: line.productId, delta: -line.quantity })),
      now,
    );
    const rows = await RESERVE_STATEMENT.rows<ReserveRow>(
      this.db,
      { lineCount: merged.length, flushedByCaller },
      reserveValues(orderId, merged, expiresAt, now, event),
    );
    const first = rows[0];
    if (first?.claimed) {
      return { reservation: { orderId, lines: rows.map(reservedLine), expiresAt }, changes: [change] };
    }
    const servable = rows.every((row) => row.found && (row.stock as number) >= row.quantity);
    // The order id already holds a reservation (committed before, or concurrently): answer it.
    if (first?.existed || servable)
      return { reservation: await readReservation(this.db, orderId), changes: [] };
    throw explainRefusal(rows);
  }

  /**
   * Marks reservations as belonging to existing orders, so they never expire: one statement for
   * the usual case where every one is still reserved. Confirming twice is harmless.
   */
  async confirm(orderIds: readonly string[], now = new Date()): Promise<ConfirmResult> {
    const result: ConfirmResult = { released: [], unknown: [] };
    if (orderIds.length === 0) return result;
    const confirmed = await this.db
      .update(reservations)
      .set({ status: "confirmed", updatedAt: now })
      .where(and(anyOf(reservations.orderId, orderIds), eq(reservations.status, "reserved")))
      .returning({ orderId: reservations.orderId });
    if (confirmed.length === orderIds.length) return result;
    const done = new Set(confirmed.map((row) => row.orderId));
    const rest = orderIds.filter((id) => !done.has(id));
    const statuses = new Map(
      (
        await this.db
          .select({ orderId: reservations.orderId, status: reservations.status })
          .from(reservations)
          .where(anyOf(reservations.orderId, rest))
      ).map((row) => [row.orderId, row.status]),
    );
    for (const id of rest) {
      const status = statuses.get(id);
      if (status === undefined) result.unknown.push(id);
      else if (status === "released") result.released.push(id);
    }
    return result;
  }

  /**
   * Returns a reservation's stock; only the first call for an order does. `onlyUnconfirmed` is the
   * expiry job's: a reservation its order confirmed meanwhile keeps its stock.
   */
  async release(orderId: string, now = new Date(), onlyUnconfirmed = false): Promise<ReleaseResult> {
    const releasable: ReservationStatus[] = onlyUnconfirmed ? ["reserved"] : ["reserved", "confirmed"];
    return this.db.transaction(async (tx) => {
      const updated = await tx
        .update(reservations)
        .set({ status: "released", updatedAt: now })
        .where(and(eq(reservations.orderId, orderId), inArray(reservations.status, releasable)))
        .returning({ orderId: reservations.orderId });
      if (updated.length === 0) return { released: false, changes: [] };
      const lines = await tx
        .select()
        .from(reservationLines)
        .where(eq(reservationLines.orderId, orderId))
        .orderBy(asc(reservationLines.productId));
      const returned: StockDelta[] = [];
      for (const line of lines) {
        // A product deleted since has nothing to return the stock to.
        const [row] = await tx
          .update(products)
          .set({ stock: sql`${products.stock} + ${line.quantity}`, updatedAt: now })
          .where(eq(products.id, line.productId))
          .returning({ id: products.id });
        if (row !== undefined) returned.push({ productId: row.id, delta: line.quantity });
      }
      // Every product deleted since: no stock returned, nothing to announce.
      if (returned.length === 0) return { released: true, changes: [] };
      const { event, change } = stockChange(orderId, returned, now);
      await appendToOutbox(tx, inventoryOutbox, [event]);
      return { released: true, changes: [change] };
    });
  }

  /**
   * Claims up to `limit` unconfirmed reservations past their expiry (oldest first) for the caller
   * to release, and returns their order ids. Every process runs the expiry job, so each one is
   * handed to one caller only: rows another caller is claiming are skipped (`FOR UPDATE SKIP
   * LOCKED`), and a claimed one's expiry moves `leaseMs` ahead, so nobody else sees it expired
   * while it is being released. If that release never happens (the process died), it is claimed
   * again once the lease is over. Releasing stays exactly-once in any case (`release`).
   */
  async expired(now: Date, limit: number, leaseMs = 30_000): Promise<string[]> {
    const claimable = this.db
      .select({ orderId: reservations.orderId })
      .from(reservations)
      .where(and(eq(reservations.status, "reserved"), lte(reservations.expiresAt, now)))
      .orderBy(asc(reservations.expiresAt))
      .limit(limit)
      .for("update", { skipLocked: true });
    const rows = await this.db
      .update(reservations)
      .set({ expiresAt: new Date(now.getTime() + leaseMs), updatedAt: now })
      .where(and(inArray(reservations.orderId, claimable), eq(reservations.status, "reserved")))
      .returning({ orderId: reservations.orderId });
    return rows.map((row) => row.orderId);
  }
}

/** The one stock event announcing `deltas` for an order, and the change it announces. */
function stockChange(
  orderId: string,
  deltas: readonly StockDelta[],
  now: Date,
): { event: NewOutboxEvent; change: StockChange } {
  const event = stockChangedEvent(orderId, deltas, now);
  return { event, change: { productIds: deltas.map((delta) => delta.productId), eventId: event.id } };
}

/** One line per product, quantities added, in product id order (the lock order). */
export function mergeLines(lines: StockRequestLine[]): StockRequestLine[] {
  const quantities = new Map<string, number>();
  for (const line of lines)
    quantities.set(line.productId, (quantities.get(line.productId) ?? 0) + line.quantity);
  return [...quantities]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([productId, quantity]) => ({ productId, quantity }));
}

/** A line of a reservation this call took, priced as the statement read it. */
function reservedLine(row: ReserveRow): ReservedLineRow {
  const unitPriceCents = BigInt(row.price_cents as string);
  return {
    productId: row.product_id,
    productName: row.name as string,
    quantity: row.quantity,
    unitPriceCents,
    unitDiscountCents: unitDiscountCents(unitPriceCents, row.percent_off ?? 0),
  };
}

/** not_found for the first missing product, else failed_precondition (409) for too little stock. */
function explainRefusal(rows: ReserveRow[]): ConnectError {
  const missing = rows.find((row) => !row.found);
  if (missing) return notFound("product", missing.product_id);
  const short = rows.find((row) => (row.stock as number) < row.quantity) as ReserveRow;
  return businessError(
    Code.FailedPrecondition,
    "OUT_OF_STOCK",
    `product "${short.product_id}" has ${short.stock} in stock, ${short.quantity} requested`,
  );
}

async function readReservation(tx: Pick<Db, "select">, orderId: string): Promise<Reservation> {
  const [reservation] = await tx.select().from(reservations).where(eq(reservations.orderId, orderId));
  const lines = await tx
    .select()
    .from(reservationLines)
    .where(eq(reservationLines.orderId, orderId))
    .orderBy(asc(reservationLines.productId));
  return {
    orderId,
    expiresAt: reservation?.expiresAt ?? new Date(0),
    lines: lines.map(({ orderId: _orderId, ...line }) => line),
  };
}
