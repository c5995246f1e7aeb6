/**
 * `column = any($1)`: the whole list is one parameter. drizzle's `inArray` writes a placeholder per
 * value, so a batched statement (confirm these orders, mark these outbox rows) had a different text
 * for every batch size: each one was parsed and planned anew, and kept as one more prepared
 * statement per connection (postgres.js prepares by text). With one text per statement, it is
 * prepared once per connection, and PostgreSQL can reuse its plan.
 */
import { type Column, Param, type SQL, sql } from "drizzle-orm";

/**
 * True for rows whose `column` is one of `values` (never for an empty list). The values go to the
 * driver as they are, without the column's encoder: for text and uuid columns, not for columns
 * whose values drizzle converts (dates, JSON).
 */
export function anyOf(column: Column, values: readonly unknown[]): SQL {
  return sql`${column} = any(${new Param([...values])})`;
}
