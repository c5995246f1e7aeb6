/**
 * The commands this module owes inventory (see `stockCommands`): written with the order change,
 * claimed by the settlement job when due, deleted once inventory has carried them out.
 */
import { and, eq, sql } from "drizzle-orm";
import { anyOf, type Db, rawRows, type Tx } from "../../platform/db/index.js";
import { type StockCommandAction, stockCommands } from "./schema.js";

export interface StockCommand {
  orderId: string;
  action: StockCommandAction;
}

export class StockCommandStore {
  constructor(private readonly db: Db) {}

  /** Records a command inside the transaction that makes the order change. */
  async add(tx: Tx, orderId: string, action: StockCommandAction, dueAt: Date): Promise<void> {
    await tx
      .insert(stockCommands)
      .values({ orderId, action, dueAt })
      .onConflictDoUpdate({
        target: [stockCommands.orderId, stockCommands.action],
        set: { dueAt },
      });
  }

  /**
   * Claims up to `limit` due commands for this caller alone: their due time moves `leaseMs` ahead,
   * so another process (or this one's next sweep) takes one only if this caller died with it.
   */
  async claimDue(now: Date, limit: number, leaseMs: number): Promise<StockCommand[]> {
    const rows = await rawRows<{ order_id: string; action: StockCommandAction }>(
      this.db,
      sql`
      update ${stockCommands} c set due_at = ${new Date(now.getTime() + leaseMs).toISOString()}::timestamptz
      where (c.order_id, c.action) in (
        select order_id, action from ${stockCommands}
        where due_at <= ${now.toISOString()}::timestamptz
        order by due_at
        limit ${limit}
        for update skip locked)
      returning c.order_id::text, c.action`,
    );
    return rows.map((row) => ({ orderId: row.order_id, action: row.action }));
  }

  /** Makes claimed commands due again at `dueAt` (an attempt failed: retry sooner than the lease). */
  async postpone(action: StockCommandAction, orderIds: readonly string[], dueAt: Date): Promise<void> {
    if (orderIds.length === 0) return;
    await this.db
      .update(stockCommands)
      .set({ dueAt })
      .where(and(eq(stockCommands.action, action), anyOf(stockCommands.orderId, orderIds)));
  }

  /** Forgets commands inventory has carried out. */
  async settled(action: StockCommandAction, orderIds: readonly string[]): Promise<void> {
    if (orderIds.length === 0) return;
    await this.db
      .delete(stockCommands)
      .where(and(eq(stockCommands.action, action), anyOf(stockCommands.orderId, orderIds)));
  }
}
