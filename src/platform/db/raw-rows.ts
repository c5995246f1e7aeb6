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
  const result = (await db.execute(statement)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: Row[] }).rows) as Row[];
}
