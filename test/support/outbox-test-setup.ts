/**
 * Test setup for the outbox suites (not a test file itself): outboxes and relays on an in-memory
 * PGlite, events to append and a bus that records what it is given.
 */
import { randomUUID } from "node:crypto";
import { afterAll, expect } from "vitest";
import type { Db } from "../../src/platform/db/database.js";
import type { EventBus, PublishedEvent } from "../../src/platform/events/event-bus.js";
import { appendToOutbox, type NewOutboxEvent } from "../../src/platform/events/outbox.js";
import { OutboxRelay, type OutboxRelayOptions } from "../../src/platform/events/outbox-relay.js";
import type { OutboxTable } from "../../src/platform/events/outbox-table.js";
import { usePglite } from "./database-test-setup.js";
import { createOutboxTable, silentLogger, sleep } from "./event-test-support.js";

/** A bus that records what it accepted and can be told to refuse publishes. */
export class RecordingBus implements Pick<EventBus, "publish"> {
  readonly published: PublishedEvent[] = [];
  /** Returns an error to refuse this publish. */
  refuse: (event: PublishedEvent) => Error | undefined = () => undefined;
  delayMs = 0;
  attempts = 0;

  readonly #seen = new Set<string>();

  /**
   * Like JetStream: an event is stored in the order it arrives (when publish is called, not when
   * its acknowledgement comes back) and a repeat of an id already stored is dropped.
   */
  async publish(event: PublishedEvent): Promise<void> {
    this.attempts++;
    const error = this.refuse(event);
    if (!error && !this.#seen.has(event.id)) {
      this.#seen.add(event.id);
      this.published.push(event);
    }
    if (this.delayMs) await sleep(this.delayMs * Math.random());
    if (error) throw error;
  }

  ids(): string[] {
    return this.published.map((e) => e.id);
  }
}

export function newEvent(n: number): NewOutboxEvent & { id: string } {
  return {
    id: randomUUID(),
    type: "ecommerce.test.v1.Thing",
    subject: `test.thing.n${n % 3}`,
    payload: new Uint8Array([n % 256, 0, 255, (n >> 8) % 256]),
  };
}

/** Appends `count` events in `count / perTx` committed transactions and returns them in order. */
export async function appendCommitted(db: Db, table: OutboxTable, count: number, perTx = 1, from = 0) {
  const events: Array<NewOutboxEvent & { id: string }> = [];
  for (let i = 0; i < count; i += perTx) {
    const batch = Array.from({ length: Math.min(perTx, count - i) }, (_, j) => newEvent(from + i + j));
    await db.transaction(async (tx) => {
      await appendToOutbox(tx, table, batch);
    });
    events.push(...batch);
  }
  return events;
}

export function expectExactlyOnce(bus: RecordingBus, expectedIds: string[]) {
  const ids = bus.ids();
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.sort()).toEqual([...expectedIds].sort());
}

export interface OutboxTestDatabase {
  readonly db: Db;
  /** A fresh outbox (own schema) per test. */
  freshOutbox(): Promise<OutboxTable>;
  /** A relay on `db` that polls and backs off quickly; stopped, if it still runs, after the suite. */
  relay(options: Partial<OutboxRelayOptions> & Pick<OutboxRelayOptions, "table" | "bus">): OutboxRelay;
}

/** A PGlite (see {@link usePglite}: once a test file) to create outboxes and run relays on. */
export function useOutboxDatabase(): OutboxTestDatabase {
  const database = usePglite();
  let schemaCounter = 0;
  const relays: OutboxRelay[] = [];
  afterAll(async () => {
    await Promise.allSettled(relays.map((relay) => relay.stop()));
  });
  return {
    get db() {
      return database.db;
    },
    async freshOutbox() {
      return createOutboxTable(database.db, `outbox_test_${++schemaCounter}`);
    },
    relay(options) {
      const r = new OutboxRelay({
        db: database.db,
        logger: silentLogger,
        name: "test",
        pollIntervalMs: 50,
        minBackoffMs: 10,
        maxBackoffMs: 50,
        ...options,
      });
      relays.push(r);
      return r;
    },
  };
}
