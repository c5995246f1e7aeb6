/**
 * Idempotency-Key bookkeeping for CreateOrder. A key is claimed before any work starts, in its
 * own committed statement, so a concurrent repeat sees it at once and is told to wait (409);
 * keys older than 24 h count as free.
 *
 * A claim is a lease: one whose request never finished (its process died) may be taken over by a
 * repeat of the same request once `leaseMs` has passed, instead of blocking the key for 24 h. Each
 * claim has its own id, and the order of an attempt whose claim was taken over is not stored (see
 * OrderStore.insert), so a slow attempt and the one that took over cannot both place an order.
 */
import { randomUUID } from "node:crypto";
import { and, eq, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../../platform/db/index.js";
import { idempotencyKeys } from "./schema.js";

export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

export type ClaimResult =
  | { state: "claimed"; claimId: string }
  | { state: "in_progress" }
  | { state: "mismatch" }
  | { state: "completed"; orderId: string };

export class IdempotencyStore {
  /** @param leaseMs how long an unfinished claim is its attempt's alone. */
  constructor(
    private readonly db: Db,
    private readonly leaseMs: number,
  ) {}

  async claim(userId: string, key: string, requestHash: string, now = new Date()): Promise<ClaimResult> {
    const claimId = randomUUID();
    // One statement claims a new key, takes over one past its 24 hours (forgotten, so usable
    // again), or takes over the same request's claim left unfinished past its lease.
    const expired = new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS);
    const abandoned = new Date(now.getTime() - this.leaseMs);
    const inserted = await this.db
      .insert(idempotencyKeys)
      .values({ userId, key, requestHash, createdAt: now, claimId })
      .onConflictDoUpdate({
        target: [idempotencyKeys.userId, idempotencyKeys.key],
        set: { requestHash, createdAt: now, orderId: null, claimId },
        setWhere: sql`${idempotencyKeys.createdAt} < ${expired.toISOString()}::timestamptz
          or (${idempotencyKeys.orderId} is null and ${idempotencyKeys.requestHash} = ${requestHash}
            and ${idempotencyKeys.createdAt} < ${abandoned.toISOString()}::timestamptz)`,
      })
      .returning({ key: idempotencyKeys.key });
    if (inserted.length > 0) return { state: "claimed", claimId };
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

  /** Frees a key whose request failed, so the caller can retry with it (unless taken over since). */
  async forget(userId: string, key: string, claimId: string): Promise<void> {
    await this.db
      .delete(idempotencyKeys)
      .where(
        and(
          eq(idempotencyKeys.userId, userId),
          eq(idempotencyKeys.key, key),
          eq(idempotencyKeys.claimId, claimId),
          isNull(idempotencyKeys.orderId),
        ),
      );
  }

  /** Deletes keys past their 24 hours. */
  async purgeExpired(now = new Date()): Promise<void> {
    await this.db
      .delete(idempotencyKeys)
      .where(lt(idempotencyKeys.createdAt, new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS)));
  }
}
