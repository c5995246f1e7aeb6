/**
 * The two ways the outbox relay sends a batch of rows: published together to a broker that keeps
 * what it accepted, or delivered one by one to the in-process bus, each once the one before has
 * been handled. Both stop at the first failure, so a row never counts as sent before one ahead.
 */
import type { EventBus, PublishedEvent } from "./event-bus.js";
import { publishTraced } from "./event-spans.js";
import type { OutboxRow } from "./outbox-table.js";

/** The rows sent, in order, up to the first that could not be (whose error stops the run). */
export interface Sent {
  done: string[];
  error?: { reason: unknown };
}

/**
 * Published together (one round trip to the broker for the batch instead of one per row; they
 * leave in seq order on the one connection) and counted up to the first failure, so a row never
 * counts as published before one ahead of it. Rows after a failure that did get through are sent
 * again with the failed one and dropped by the broker as repeats.
 */
export async function publishTogether(
  rows: readonly OutboxRow[],
  bus: Pick<EventBus, "publish">,
): Promise<Sent> {
  const outcomes = await Promise.allSettled(
    rows.map((row) => publishTraced(toEvent(row), (event) => bus.publish(event))),
  );
  const done: string[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.status === "rejected") return { done, error: { reason: outcome.reason } };
    done.push((rows[index] as OutboxRow).id);
  }
  return { done };
}

/** Delivered one after the other, each once its predecessor has been handled; stops at a failure. */
export async function deliverInTurn(
  rows: readonly OutboxRow[],
  deliver: (event: PublishedEvent) => Promise<void>,
): Promise<Sent> {
  const done: string[] = [];
  for (const row of rows) {
    try {
      await publishTraced(toEvent(row), deliver);
    } catch (reason) {
      return { done, error: { reason } };
    }
    done.push(row.id);
  }
  return { done };
}

function toEvent(row: OutboxRow): PublishedEvent {
  return {
    id: row.id,
    type: row.type,
    subject: row.subject,
    payload: row.payload,
    occurredAt: row.occurredAt,
    traceContext: row.traceContext ?? undefined,
  };
}
