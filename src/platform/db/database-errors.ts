/**
 * Tells an outage from a mistake: whether a database error says "try again later" (the server is
 * unreachable, shutting down, out of resources, or rolled the transaction back for a conflict)
 * rather than "this statement can never succeed". Drizzle wraps the driver's error as `cause`.
 */

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

export function isTransientDatabaseError(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Object && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      if (TRANSIENT_CODES.has(code)) return true;
      if (SQLSTATE.test(code)) return TRANSIENT_SQLSTATE_CLASSES.has(code.slice(0, 2));
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
