/**
 * Review persistence. `verified_purchase` is computed from this module's own orders when a review
 * is read, so it follows the author's orders (a later cancellation clears it).
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { and, avg, count, desc, eq, lt, or, type SQL, sql } from "drizzle-orm";
import { type Review, ReviewSchema } from "../../gen/ecommerce/orders/v1/review_pb.js";
import type { Db } from "../../platform/db/index.js";
import { uuidv7 } from "../../platform/ids.js";
import { businessError } from "../../platform/rpc/index.js";
import { orderItems, orders, reviews } from "./schema.js";

type ReviewRow = typeof reviews.$inferSelect;

export interface ReviewCursor {
  createdAt: Date;
  id: string;
}

/**
 * Whether the review's author has a non-cancelled order containing the product. Columns are
 * qualified by hand: inside a raw subquery drizzle writes bare column names, and "product_id" or
 * "user_id" would then bind to the subquery's own tables.
 */
const column = (name: string) => sql.identifier(name);
const verifiedPurchase = sql<boolean>`exists (
  select 1 from ${orderItems} join ${orders} on ${orders}.${column("id")} = ${orderItems}.${column("order_id")}
  where ${orderItems}.${column("product_id")} = ${reviews}.${column("product_id")}
    and ${orders}.${column("user_id")} = ${reviews}.${column("user_id")}
    and ${orders}.${column("status")} <> 'cancelled')`;

export class ReviewStore {
  constructor(private readonly db: Db) {}

  /** Inserts the review; already_exists when the user has reviewed the product. */
  async create(input: {
    productId: string;
    userId: string;
    rating: number;
    comment: string;
  }): Promise<Review> {
    const now = new Date();
    const inserted = await this.db
      .insert(reviews)
      .values({ id: uuidv7(now.getTime()), ...input, createdAt: now, updatedAt: now })
      .onConflictDoNothing()
      .returning({ id: reviews.id });
    const id = inserted[0]?.id;
    if (id === undefined) {
      throw businessError(
        Code.AlreadyExists,
        "REVIEW_EXISTS",
        "you have already reviewed this product; edit that review",
      );
    }
    return (await this.get(id)) as Review;
  }

  async get(id: string): Promise<Review | undefined> {
    const [row] = await this.db
      .select({ review: reviews, verified: verifiedPurchase })
      .from(reviews)
      .where(eq(reviews.id, id));
    return row === undefined ? undefined : reviewFromRow(row.review, row.verified);
  }

  /** Up to `limit` reviews of a product, newest first, after `before`. */
  async list(productId: string, before: ReviewCursor | undefined, limit: number): Promise<Review[]> {
    const conditions: SQL[] = [eq(reviews.productId, productId)];
    if (before !== undefined) {
      conditions.push(
        or(
          lt(reviews.createdAt, before.createdAt),
          and(eq(reviews.createdAt, before.createdAt), lt(reviews.id, before.id)),
        ) as SQL,
      );
    }
    const rows = await this.db
      .select({ review: reviews, verified: verifiedPurchase })
      .from(reviews)
      .where(and(...conditions))
      .orderBy(desc(reviews.createdAt), desc(reviews.id))
      .limit(limit);
    return rows.map((row) => reviewFromRow(row.review, row.verified));
  }

  /** Mean rating and count over all of a product's reviews. */
  async summary(productId: string): Promise<{ averageRating: number; reviewCount: number }> {
    const [row] = await this.db
      .select({ average: avg(reviews.rating), total: count() })
      .from(reviews)
      .where(eq(reviews.productId, productId));
    return {
      averageRating: row?.average === null || row === undefined ? 0 : Number(row.average),
      reviewCount: row?.total ?? 0,
    };
  }

  /** The review after the change, or undefined when it does not exist. */
  async update(id: string, changes: { rating?: number; comment?: string }): Promise<Review | undefined> {
    const updated = await this.db
      .update(reviews)
      .set({ ...changes, updatedAt: new Date() })
      .where(eq(reviews.id, id))
      .returning({ id: reviews.id });
    return updated.length === 0 ? undefined : this.get(id);
  }

  /** True when a review was deleted. */
  async delete(id: string): Promise<boolean> {
    const deleted = await this.db.delete(reviews).where(eq(reviews.id, id)).returning({ id: reviews.id });
    return deleted.length > 0;
  }
}

function reviewFromRow(row: ReviewRow, verified: boolean): Review {
  return create(ReviewSchema, {
    id: row.id,
    productId: row.productId,
    userId: row.userId,
    rating: row.rating,
    comment: row.comment,
    verifiedPurchase: verified,
    createdAt: timestampFromDate(row.createdAt),
    updatedAt: timestampFromDate(row.updatedAt),
  });
}
