/**
 * Idempotency-Key bookkeeping for CreateOrder. A key is claimed before any work starts, in its
 * own committed statement, so a concurrent repeat sees it at once and is told to wait (409);
 * keys older than 24 h count as free.
 */
import { and, eq, lt } from "drizzle-orm";
import type { Db } from "../../platform/db/database.js";
import { idempotencyKeys } from "./schema.js";

export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

export type ClaimResult =
  | { state: "claimed" }
  | { state: "in_progress" }
  | { state: "mismatch" }
  | { state: "completed"; orderId: string };

export class IdempotencyStore {
  constructor(private readonly db: Db) {}

  async claim(userId: string, key: string, requestHash: string, now = new Date()): Promise<ClaimResult> {
    // One statement claims a new key, or takes over one past its 24 hours (forgotten, so usable again).
    const inserted = await this.db
      .insert(idempotencyKeys)
      .values({ userId, key, requestHash, createdAt: now })
      .onConflictDoUpdate({
        target: [idempotencyKeys.userId, idempotencyKeys.key],
        set: { requestHash, createdAt: now, orderId: null },
        setWhere: lt(idempotencyKeys.createdAt, new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS)),
      })
      .returning({ key: idempotencyKeys.key });
    if (inserted.length > 0) return { state: "claimed" };
    const [existing] = await this.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));
    // Gone between the two statements (its request failed and let it go): try once more.
    if (existing === undefined) return this.claim(userId, key, requestHash, now);
    if (existing.requestHash !== requestHash) return { state: "mismatch" };
    if (existing.orderId === null) return { state: "in_progress" };
    return { state: "completed", orderId: existing.orderId };
  }

  /** Frees a key whose request failed, so the caller can retry with it. */
  async forget(userId: string, key: string): Promise<void> {
    await this.db
      .delete(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));
  }

  /** Deletes keys past their 24 hours. */
  async purgeExpired(now = new Date()): Promise<void> {
    await this.db
      .delete(idempotencyKeys)
      .where(lt(idempotencyKeys.createdAt, new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS)));
  }
}
