/**
 * Discount persistence: discounts with the products they apply to, and the read that pricing
 * needs, the largest discount in force on each product at a given moment.
 */

import { Code } from "@connectrpc/connect";
import { and, asc, desc, eq, gt, inArray, lt, lte, max, or } from "drizzle-orm";
import type { Product } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import type { Db } from "../../platform/db/index.js";
import { uuidv7 } from "../../platform/ids.js";
import { businessError, echo, notFound, type TimeCursor } from "../../platform/rpc/index.js";
import { discountProducts, discounts } from "./discount-schema.js";
import { productFromRow } from "./product-mapper.js";
import { products } from "./schema.js";

export interface NewDiscount {
  name: string;
  description: string;
  percentOff: number;
  /** Distinct, lower-case product ids. */
  productIds: string[];
  startsAt: Date;
  endsAt: Date;
}

/** A stored discount with its products (ordered by id). `active` is the reader's to compute. */
export interface StoredDiscount extends NewDiscount {
  id: string;
  createdAt: Date;
}

/** A product and the largest percent off in force on it. */
export interface ProductWithDiscount {
  product: Product;
  percentOff: number;
}

export class DiscountStore {
  constructor(private readonly db: Db) {}

  /** Stores a discount; not_found naming every product that does not exist, storing nothing. */
  async create(input: NewDiscount): Promise<StoredDiscount> {
    const now = new Date();
    return this.db.transaction(async (tx) => {
      // KEY SHARE makes a concurrent delete of one of these products wait for this transaction,
      // so a product found here still exists when its discount_products row is inserted.
      const found = await tx
        .select({ id: products.id })
        .from(products)
        .where(inArray(products.id, input.productIds))
        .for("key share");
      const existing = new Set(found.map((row) => row.id));
      const missing = input.productIds.filter((id) => !existing.has(id));
      if (missing.length > 0) throw productsNotFound(missing);

      const id = uuidv7(now.getTime());
      await tx.insert(discounts).values({
        id,
        name: input.name,
        description: input.description,
        percentOff: input.percentOff,
        startsAt: input.startsAt,
        endsAt: input.endsAt,
        createdAt: now,
      });
      await tx
        .insert(discountProducts)
        .values(input.productIds.map((productId) => ({ discountId: id, productId })));
      return { ...input, productIds: [...input.productIds].sort(), id, createdAt: now };
    });
  }

  /** Up to `limit` discounts, newest first, starting after `after`. */
  async list(after: TimeCursor | undefined, limit: number): Promise<StoredDiscount[]> {
    const rows = await this.db
      .select()
      .from(discounts)
      .where(
        after === undefined
          ? undefined
          : or(
              lt(discounts.createdAt, after.createdAt),
              and(eq(discounts.createdAt, after.createdAt), lt(discounts.id, after.id)),
            ),
      )
      .orderBy(desc(discounts.createdAt), desc(discounts.id))
      .limit(limit);
    if (rows.length === 0) return [];
    const links = await this.db
      .select()
      .from(discountProducts)
      .where(
        inArray(
          discountProducts.discountId,
          rows.map((row) => row.id),
        ),
      )
      .orderBy(asc(discountProducts.productId));
    const productIds = new Map<string, string[]>(rows.map((row) => [row.id, []]));
    for (const link of links) productIds.get(link.discountId)?.push(link.productId);
    return rows.map((row) => ({ ...row, productIds: productIds.get(row.id) ?? [] }));
  }

  /** True when a discount was deleted (its product links go with it). */
  async delete(id: string): Promise<boolean> {
    const deleted = await this.db
      .delete(discounts)
      .where(eq(discounts.id, id))
      .returning({ id: discounts.id });
    return deleted.length > 0;
  }

  /**
   * Up to `limit` products with at least one discount in force at `now` (starts_at ≤ now <
   * ends_at), each with its largest percent off, ordered by product id after `afterProductId`.
   */
  async listDiscountedProducts(
    now: Date,
    afterProductId: string | undefined,
    limit: number,
  ): Promise<ProductWithDiscount[]> {
    const rows = await this.db
      .select({ product: products, percentOff: max(discounts.percentOff) })
      .from(products)
      .innerJoin(discountProducts, eq(discountProducts.productId, products.id))
      .innerJoin(discounts, eq(discounts.id, discountProducts.discountId))
      .where(and(inForceAt(now), afterProductId === undefined ? undefined : gt(products.id, afterProductId)))
      .groupBy(products.id)
      .orderBy(asc(products.id))
      .limit(limit);
    return rows.map((row) => ({ product: productFromRow(row.product), percentOff: Number(row.percentOff) }));
  }

  /** The largest percent off in force at `now` for each of these products that has one. */
  async bestDiscountPercent(
    productIds: readonly string[],
    now: Date,
    /** A transaction to read in, when prices must agree with what it locked. */
    executor: Pick<Db, "select"> = this.db,
  ): Promise<Map<string, number>> {
    if (productIds.length === 0) return new Map();
    const rows = await executor
      .select({ productId: discountProducts.productId, percentOff: max(discounts.percentOff) })
      .from(discountProducts)
      .innerJoin(discounts, eq(discounts.id, discountProducts.discountId))
      .where(and(inArray(discountProducts.productId, [...productIds]), inForceAt(now)))
      .groupBy(discountProducts.productId);
    return new Map(rows.map((row) => [row.productId, Number(row.percentOff)]));
  }
}

/** starts_at ≤ now < ends_at. */
function inForceAt(now: Date) {
  return and(lte(discounts.startsAt, now), gt(discounts.endsAt, now));
}

function productsNotFound(ids: string[]) {
  if (ids.length === 1) return notFound("product", ids[0] as string);
  const shown = ids.slice(0, 10).map((id) => `"${echo(id)}"`);
  if (ids.length > shown.length) shown.push(`and ${ids.length - shown.length} more`);
  const named = shown.join(", ");
  return businessError(Code.NotFound, "PRODUCT_NOT_FOUND", `products ${named} were not found`);
}
