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
 * `count` events as a VALUES list of (id, type, subject, payload, trace_context), for statements
 * that append to an outbox inside a larger single statement built once per shape (ShapedStatement):
 * `insert into <outbox> (id, type, subject, payload, trace_context) select … from (values …)`.
 * Placeholders named `<prefix><index>id`, `…type`, `…subject`, `…payload`, `…trace`, whose values
 * {@link outboxPlaceholderValues} gives.
 */
export function outboxPlaceholders(count: number, prefix: string): SQL {
  if (count === 0) throw new Error("outboxPlaceholders needs at least one event");
  return sql.join(
    Array.from({ length: count }, (_, index) => {
      const value = (field: string) => sql.placeholder(`${prefix}${index}${field}`);
      return sql`(${value("id")}::uuid, ${value("type")}, ${value("subject")}, ${value("payload")}::bytea, ${value("trace")}::text)`;
    }),
    sql`, `,
  );
}

/** The values of {@link outboxPlaceholders} for `events`, added to `values`; the same checks as {@link appendToOutbox}. */
export function outboxPlaceholderValues(
  events: readonly NewOutboxEvent[],
  prefix: string,
  values: Record<string, unknown>,
): void {
  events.forEach((event, index) => {
    const row = outboxRow(event);
    values[`${prefix}${index}id`] = row.id;
    values[`${prefix}${index}type`] = row.type;
    values[`${prefix}${index}subject`] = row.subject;
    values[`${prefix}${index}payload`] = row.payload;
    values[`${prefix}${index}trace`] = row.traceContext;
  });
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
