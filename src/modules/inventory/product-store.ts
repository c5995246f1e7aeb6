/**
 * Product persistence. Every write records its event in the module's outbox inside the same
 * transaction, so a change and its event are committed together or not at all.
 */
import { and, asc, eq, gt, gte, ilike, lte, type SQL } from "drizzle-orm";
import type { Product } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import type { Db } from "../../platform/db/index.js";
import { appendToOutbox } from "../../platform/events/index.js";
import { uuidv7 } from "../../platform/ids.js";
import { productCreatedEvent, productDeletedEvent, productUpdatedEvent } from "./product-events.js";
import { productFromRow } from "./product-mapper.js";
import { inventoryOutbox, products } from "./schema.js";

export interface NewProduct {
  name: string;
  description: string;
  category: string;
  priceCents: bigint;
  stock: number;
}

export type ProductChanges = Partial<NewProduct>;

export interface ProductFilter {
  category?: string;
  nameContains?: string;
  minPriceCents?: bigint;
  maxPriceCents?: bigint;
  inStock?: boolean;
  /** Continue after this id (keyset paging). */
  afterId?: string;
  limit: number;
}

export class ProductStore {
  constructor(private readonly db: Db) {}

  async create(input: NewProduct): Promise<Product> {
    const now = new Date();
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(products)
        .values({ id: uuidv7(now.getTime()), ...input, createdAt: now, updatedAt: now })
        .returning();
      const product = productFromRow(row as NonNullable<typeof row>);
      await appendToOutbox(tx, inventoryOutbox, [productCreatedEvent(product)]);
      return product;
    });
  }

  async get(id: string): Promise<Product | undefined> {
    const [row] = await this.db.select().from(products).where(eq(products.id, id)).limit(1);
    return row === undefined ? undefined : productFromRow(row);
  }

  /** Up to `limit` products ordered by id, starting after `afterId`. */
  async list(filter: ProductFilter): Promise<Product[]> {
    const conditions: SQL[] = [];
    if (filter.category) conditions.push(eq(products.category, filter.category));
    if (filter.nameContains) conditions.push(ilike(products.name, `%${escapeLike(filter.nameContains)}%`));
    if (filter.minPriceCents !== undefined) conditions.push(gte(products.priceCents, filter.minPriceCents));
    if (filter.maxPriceCents !== undefined) conditions.push(lte(products.priceCents, filter.maxPriceCents));
    if (filter.inStock) conditions.push(gt(products.stock, 0));
    if (filter.afterId !== undefined) conditions.push(gt(products.id, filter.afterId));
    const rows = await this.db
      .select()
      .from(products)
      .where(and(...conditions))
      .orderBy(asc(products.id))
      .limit(filter.limit);
    return rows.map(productFromRow);
  }

  /** The product after the change, or undefined when it does not exist. */
  async update(id: string, changes: ProductChanges): Promise<Product | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(products)
        .set({ ...changes, updatedAt: new Date() })
        .where(eq(products.id, id))
        .returning();
      if (row === undefined) return undefined;
      const product = productFromRow(row);
      await appendToOutbox(tx, inventoryOutbox, [productUpdatedEvent(product)]);
      return product;
    });
  }

  /** True when a product was deleted. */
  async delete(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const deleted = await tx.delete(products).where(eq(products.id, id)).returning({ id: products.id });
      if (deleted.length === 0) return false;
      await appendToOutbox(tx, inventoryOutbox, [productDeletedEvent(id, new Date())]);
      return true;
    });
  }
}

/** Makes `%`, `_` and `\` match themselves in an ILIKE pattern. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}
