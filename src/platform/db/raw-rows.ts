/**
 * Rows of a hand-written statement. The hot paths (taking stock, storing an order) are single
 * statements with data-modifying CTEs, which drizzle's query builder cannot express; this hides
 * the one difference between the drivers: postgres.js answers an array, PGlite `{ rows }`.
 * Columns come back as PostgreSQL names them; cast int8 to text in the SQL and parse it with
 * BigInt, since the drivers disagree on how they return it.
 */
import type { SQL } from "drizzle-orm";
import type { Db, Tx } from "./database.js";

export async function rawRows<Row>(db: Db | Tx, statement: SQL): Promise<Row[]> {
  return rowsOf<Row>(await db.execute(statement));
}

/** The rows of what a statement answered, whichever driver answered it. */
export function rowsOf<Row>(result: unknown): Row[] {
  return (Array.isArray(result) ? result : (result as { rows: Row[] }).rows) as Row[];
}
