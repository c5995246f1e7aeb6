/**
 * The outbox table every event-emitting module owns in its own PostgreSQL schema. A module writes
 * its events here in the same transaction as the change they describe; an {@link OutboxRelay}
 * publishes them to the bus afterwards. drizzle-kit generates the migration from the module's
 * schema file that calls {@link defineOutboxTable}. A row lives until the relay has published it:
 * the relay deletes it in the transaction that saw the bus accept it.
 */
import { bigint, customType, index, type PgSchema, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * `bytea` as a `Uint8Array`. postgres.js hands back a `Buffer` and PGlite a `Uint8Array`; both are
 * normalised to a plain `Uint8Array` view (no copy) so callers and tests see one type.
 */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array | string }>({
  dataType() {
    return "bytea";
  },
  toDriver(value) {
    // Both drivers serialise a Uint8Array parameter as bytea.
    return value;
  },
  fromDriver(value) {
    if (typeof value === "string") {
      // Text-format bytea ("\x0a0b…"), in case a driver is configured not to parse it.
      const hex = value.startsWith("\\x") ? value.slice(2) : value;
      return new Uint8Array(Buffer.from(hex, "hex"));
    }
    return value.constructor === Uint8Array
      ? value
      : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  },
});

/**
 * Declares `<schema>.outbox`.
 *
 * - `seq` is the publish order: identity values follow insertion order, so events appended in one
 *   transaction keep their order (`occurred_at` is the transaction's start time and is the same for
 *   all of them).
 * - `subject` is relative to the deployment's namespace (`inventory.product.created`); the bus adds
 *   the `<NAMESPACE>.` prefix, so a database does not hard-code the namespace it was written under.
 * - `payload` is the protobuf binary of the message named by `type`
 *   (`ecommerce.inventory.v1.ProductCreated`).
 * - `trace_context` is the W3C `traceparent` of the span that wrote the event, when tracing was on:
 *   the relay's publish continues that trace, so the event's consumers join the request's trace.
 */
export function defineOutboxTable(schema: PgSchema) {
  return schema.table(
    "outbox",
    {
      seq: bigint("seq", { mode: "number" }).generatedAlwaysAsIdentity(),
      id: uuid("id").primaryKey(),
      type: text("type").notNull(),
      subject: text("subject").notNull(),
      payload: bytea("payload").notNull(),
      traceContext: text("trace_context"),
      occurredAt: timestamp("occurred_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    },
    // The relay's query: the oldest rows, in seq order. Rows are deleted once published, so the
    // table holds only what waits for the bus.
    (table) => [index("outbox_seq_idx").on(table.seq)],
  );
}

export type OutboxTable = ReturnType<typeof defineOutboxTable>;
export type OutboxRow = OutboxTable["$inferSelect"];
