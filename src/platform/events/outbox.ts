/** Writing events into a module's outbox, inside the transaction that makes the change. */
import { randomUUID } from "node:crypto";
import { type SQL, sql } from "drizzle-orm";
import type { Db, Tx } from "../db/database.js";
import { assertValidSubject } from "./event-bus.js";
import { eventCreated } from "./event-spans.js";
import type { OutboxTable } from "./outbox-table.js";

export interface NewOutboxEvent {
  /** The event id; a random UUID when absent. Consumers deduplicate on it. */
  id?: string;
  /** Fully qualified protobuf message name, e.g. `ecommerce.inventory.v1.ProductCreated`. */
  type: string;
  /** Subject relative to the namespace, e.g. `inventory.product.created`. */
  subject: string;
  /** Protobuf binary of the message. */
  payload: Uint8Array;
}

/**
 * Inserts `events` (in this order) into `table` through `tx`, and returns their ids. Call it with
 * the transaction that writes the change the events describe, so both commit or neither does;
 * after the commit, `relay.wake()` gets them published promptly.
 *
 * Subjects are checked here: a row the bus would refuse would otherwise block its outbox.
 */
export async function appendToOutbox(
  tx: Tx | Db,
  table: OutboxTable,
  events: readonly NewOutboxEvent[],
): Promise<string[]> {
  if (events.length === 0) return [];
  const rows = events.map(outboxRow);
  await tx.insert(table).values(rows);
  return rows.map((row) => row.id);
}

/**
 * `events` as a VALUES list of (id, type, subject, payload, trace_context), for statements that
 * append to an outbox inside a larger single statement: `insert into <outbox> (id, type, subject,
 * payload, trace_context) select … from (values …)`. The same checks as {@link appendToOutbox};
 * `events` must not be empty.
 */
export function outboxValues(events: readonly NewOutboxEvent[]): SQL {
  if (events.length === 0) throw new Error("outboxValues needs at least one event");
  return sql.join(
    events
      .map(outboxRow)
      .map(
        (row) =>
          sql`(${row.id}::uuid, ${row.type}, ${row.subject}, ${row.payload}::bytea, ${row.traceContext}::text)`,
      ),
    sql`, `,
  );
}

function outboxRow(event: NewOutboxEvent) {
  assertValidSubject(event.subject, { wildcards: false });
  if (!event.type) throw new Error("outbox event without a type");
  const id = event.id ?? randomUUID();
  return {
    id,
    type: event.type,
    subject: event.subject,
    payload: event.payload,
    traceContext: eventCreated(id, event.subject) ?? null,
  };
}
