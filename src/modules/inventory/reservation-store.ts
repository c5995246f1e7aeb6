/**
 * Taking and returning stock, all or nothing, keyed by order id.
 *
 * No oversell: each line is one conditional `UPDATE … SET stock = stock - n WHERE stock >= n`, so
 * the row lock decides between concurrent orders and stock never goes below zero. No deadlock:
 * lines are merged per product and updated in product id order, so concurrent multi-line orders
 * lock rows in the same order. Exactly once: the reservation row is inserted first (a retry with the
 * same order id waits for, then returns, the first one) and released by a single status change.
 */
import { Code } from "@connectrpc/connect";
import { and, asc, eq, inArray, lte, sql } from "drizzle-orm";
import type { Product } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import type { Db, Tx } from "../../platform/db/database.js";
import { appendToOutbox } from "../../platform/events/outbox.js";
import { businessError, notFound } from "../../platform/rpc/errors.js";
import { unitDiscountCents } from "./discount-price.js";
import type { DiscountStore } from "./discount-store.js";
import { productUpdatedEvent } from "./product-events.js";
import { productFromRow } from "./product-mapper.js";
import { reservationLines, reservations } from "./reservation-schema.js";
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

export interface ReleaseResult {
  released: boolean;
  /** Products whose stock changed, for cache invalidation. */
  products: Product[];
}

export class ReservationStore {
  constructor(
    private readonly db: Db,
    private readonly discounts: DiscountStore,
  ) {}

  /**
   * Takes stock for every line or for none. Resolves with the reservation (the first one, for a
   * repeated order id) and the products whose stock changed.
   */
  async reserve(
    orderId: string,
    lines: StockRequestLine[],
    ttlMs: number,
    now = new Date(),
  ): Promise<{ reservation: Reservation; changed: Product[] }> {
    const merged = mergeLines(lines);
    const expiresAt = new Date(now.getTime() + ttlMs);
    try {
      return await this.db.transaction(async (tx) => {
        // Issued together so the driver pipelines them; the server still runs them in this order,
        // so the stock rows are locked in product id order.
        const [inserted, percentOff, ...updated] = await Promise.all([
          tx
            .insert(reservations)
            .values({ orderId, status: "reserved", expiresAt, createdAt: now, updatedAt: now })
            .onConflictDoNothing()
            .returning({ orderId: reservations.orderId }),
          this.discounts.bestDiscountPercent(
            merged.map((line) => line.productId),
            now,
            tx,
          ),
          ...merged.map((line) =>
            tx
              .update(products)
              .set({ stock: sql`${products.stock} - ${line.quantity}`, updatedAt: now })
              .where(and(eq(products.id, line.productId), sql`${products.stock} >= ${line.quantity}`))
              .returning(),
          ),
        ]);
        // A repeat of an order id: undo what this attempt took, and answer the first reservation.
        if (inserted.length === 0) throw new RepeatedOrderId();
        const changed: Product[] = [];
        const reserved: ReservedLineRow[] = [];
        for (const [index, line] of merged.entries()) {
          const row = updated[index]?.[0];
          if (row === undefined) await explainMissingStock(tx, line);
          const product = productFromRow(row as NonNullable<typeof row>);
          changed.push(product);
          reserved.push({
            productId: line.productId,
            productName: product.name,
            quantity: line.quantity,
            unitPriceCents: product.priceCents,
            unitDiscountCents: unitDiscountCents(product.priceCents, percentOff.get(line.productId) ?? 0),
          });
        }
        await Promise.all([
          tx.insert(reservationLines).values(reserved.map((line) => ({ orderId, ...line }))),
          appendToOutbox(tx, inventoryOutbox, changed.map(productUpdatedEvent)),
        ]);
        return { reservation: { orderId, lines: reserved, expiresAt }, changed };
      });
    } catch (error) {
      if (!(error instanceof RepeatedOrderId)) throw error;
      return { reservation: await readReservation(this.db, orderId), changed: [] };
    }
  }

  /** Marks a reservation as belonging to an existing order, so it never expires. */
  async confirm(orderId: string, now = new Date()): Promise<void> {
    const updated = await this.db
      .update(reservations)
      .set({ status: "confirmed", updatedAt: now })
      .where(and(eq(reservations.orderId, orderId), eq(reservations.status, "reserved")))
      .returning({ orderId: reservations.orderId });
    if (updated.length > 0) return;
    const [current] = await this.db
      .select({ status: reservations.status })
      .from(reservations)
      .where(eq(reservations.orderId, orderId));
    if (current === undefined) throw notFound("reservation", orderId);
    if (current.status === "released") {
      throw businessError(
        Code.FailedPrecondition,
        "RESERVATION_RELEASED",
        `the stock of order "${orderId}" was already released`,
      );
    }
  }

  /** Returns a reservation's stock; only the first call for an order does. */
  async release(orderId: string, now = new Date()): Promise<ReleaseResult> {
    return this.db.transaction(async (tx) => {
      const updated = await tx
        .update(reservations)
        .set({ status: "released", updatedAt: now })
        .where(
          and(eq(reservations.orderId, orderId), inArray(reservations.status, ["reserved", "confirmed"])),
        )
        .returning({ orderId: reservations.orderId });
      if (updated.length === 0) return { released: false, products: [] };
      const lines = await tx
        .select()
        .from(reservationLines)
        .where(eq(reservationLines.orderId, orderId))
        .orderBy(asc(reservationLines.productId));
      const changed: Product[] = [];
      for (const line of lines) {
        // A product deleted since has nothing to return the stock to.
        const [row] = await tx
          .update(products)
          .set({ stock: sql`${products.stock} + ${line.quantity}`, updatedAt: now })
          .where(eq(products.id, line.productId))
          .returning();
        if (row !== undefined) changed.push(productFromRow(row));
      }
      await appendToOutbox(tx, inventoryOutbox, changed.map(productUpdatedEvent));
      return { released: true, products: changed };
    });
  }

  /** Order ids of unconfirmed reservations past their expiry, oldest first. */
  async expired(now: Date, limit: number): Promise<string[]> {
    const rows = await this.db
      .select({ orderId: reservations.orderId })
      .from(reservations)
      .where(and(eq(reservations.status, "reserved"), lte(reservations.expiresAt, now)))
      .orderBy(asc(reservations.expiresAt))
      .limit(limit);
    return rows.map((row) => row.orderId);
  }
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

/** Throws not_found for a missing product, failed_precondition (409) for too little stock. */
async function explainMissingStock(tx: Tx, line: StockRequestLine): Promise<never> {
  const [product] = await tx
    .select({ stock: products.stock })
    .from(products)
    .where(eq(products.id, line.productId));
  if (product === undefined) throw notFound("product", line.productId);
  throw businessError(
    Code.FailedPrecondition,
    "OUT_OF_STOCK",
    `product "${line.productId}" has ${product.stock} in stock, ${line.quantity} requested`,
  );
}

/** Rolls back an attempt whose order id already holds a reservation. */
class RepeatedOrderId extends Error {}

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
