/**
 * The customers this process recently refused for holding MAX_PENDING_ORDERS pending orders.
 *
 * The limit itself is enforced when an order is stored (strictly, in the statement that counts
 * it). Checking it before taking stock as well would cost every order a query; it is worth that
 * only for a customer who is at the limit — who, refused once, tends to try again. So only the
 * customers remembered here are checked before their stock is taken: a hoarder's repeated attempts
 * cost one read each instead of taking and returning stock, and everyone else pays nothing.
 * Memory is per process and bounded; forgetting someone only means their next attempt is refused
 * by the strict check instead (docs/api.md's answer is the same).
 */
export class UsersAtPendingLimit {
  private readonly refusedAt = new Map<string, number>();

  constructor(
    private readonly rememberMs = 10 * 60_000,
    private readonly maxRemembered = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** `userId` was just refused by the strict check. */
  remember(userId: string): void {
    if (this.refusedAt.size >= this.maxRemembered) this.refusedAt.clear();
    this.refusedAt.set(userId, this.now());
  }

  /** Whether `userId` was refused recently enough to be checked before taking stock. */
  mayBeAtLimit(userId: string): boolean {
    const refusedAt = this.refusedAt.get(userId);
    if (refusedAt === undefined) return false;
    if (this.now() - refusedAt < this.rememberMs) return true;
    this.refusedAt.delete(userId);
    return false;
  }

  /** `userId` was seen under the limit (an order was placed, or the check found room). */
  forget(userId: string): void {
    this.refusedAt.delete(userId);
  }
}
