/**
 * Tells an outage from a mistake: whether a database error says "try again later" (the server is
 * unreachable, shutting down, out of resources, or rolled the transaction back for a conflict)
 * rather than "this statement can never succeed". Drizzle wraps the driver's error as `cause`.
 */
import { errorCodes } from "../errors/error-codes.js";

/** SQLSTATE classes of conditions that pass: connection exception, insufficient resources,
 * operator intervention (shutdown, cancel), system error, transaction rollback (serialization
 * failure, deadlock). */
const TRANSIENT_SQLSTATE_CLASSES = new Set(["08", "53", "57", "58", "40"]);

/** Node socket errors and postgres.js connection errors. */
const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * SQLSTATEs of a statement stopped for taking too long: statement_timeout (query_canceled) and
 * lock_timeout (lock_not_available). The request pool sets both (see database.ts), so a request
 * that waits on a slow statement or a held lock ends instead of holding a connection.
 */
const TIMEOUT_SQLSTATES = new Set(["57014", "55P03"]);

export function isDatabaseTimeout(error: unknown): boolean {
  return errorCodes(error, 5).some((code) => TIMEOUT_SQLSTATES.has(code));
}

export function isTransientDatabaseError(error: unknown): boolean {
  // The outermost code that says something decides: a SQLSTATE is the server's verdict.
  for (const code of errorCodes(error, 5)) {
    if (TRANSIENT_CODES.has(code)) return true;
    if (SQLSTATE.test(code)) return TRANSIENT_SQLSTATE_CLASSES.has(code.slice(0, 2));
  }
  return false;
}
