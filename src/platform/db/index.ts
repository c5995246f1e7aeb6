/**
 * PostgreSQL through drizzle (or the embedded server): opening the database with its migrations,
 * the request and background pools with their statement limits, hand-written statements, and
 * which errors are worth a retry. docs/security.md, "Deadlines".
 *
 * The gateway, the modules and the composition root use this subsystem only through this file
 * (a dependency-cruiser rule); files inside the platform import each other directly.
 */

export { anyOf } from "./any-of.js";
export {
  BACKGROUND_STATEMENT_LIMITS,
  type Database,
  type Db,
  openDatabase,
  requestStatementLimits,
  type Tx,
} from "./database.js";
export { isTransientDatabaseError } from "./database-errors.js";
export { rawRows } from "./raw-rows.js";
export { ShapedStatement } from "./shaped-statement.js";
