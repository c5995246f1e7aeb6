import { eq } from "drizzle-orm";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createOutboxTable,
  createTestPostgresDatabase,
  silentLogger,
  sleep,
  waitFor,
} from "../../../test/support/event-test-support.js";
import {
  appendCommitted,
  expectExactlyOnce,
  newEvent,
  RecordingBus,
  useOutboxDatabase,
} from "../../../test/support/outbox-test-setup.js";
import type { Db } from "../db/database.js";
import type { DeliveredEvent, PublishedEvent } from "./event-bus.js";
import { createInProcessBus } from "./in-process-bus.js";
import { appendToOutbox } from "./outbox.js";
import { OutboxRelay } from "./outbox-relay.js";

// One PGlite for the whole file: opening one takes seconds.
const outboxDatabase = useOutboxDatabase();
const { freshOutbox, relay } = outboxDatabase;
let db: Db;
beforeAll(() => {
  db = outboxDatabase.db;
});

describe("the outbox on PGlite", () => {
  it("stores the payload bytes and defaults (bytea round trip)", async () => {
    const table = await freshOutbox();
    const payload = new Uint8Array([0, 1, 2, 254, 255, 92, 120]);
    const [id] = await appendToOutbox(db, table, [{ type: "t.v1.X", subject: "a.b", payload }]);
    const [row] = await db
      .select()
      .from(table)
      .where(eq(table.id, id as string));
    expect(row?.payload).toEqual(payload);
    expect(row?.payload.constructor).toBe(Uint8Array);
    expect(row?.occurredAt).toBeInstanceOf(Date);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses subjects the bus could never publish", async () => {
    const table = await freshOutbox();
    const payload = new Uint8Array();
    await expect(appendToOutbox(db, table, [{ type: "t", subject: "a.>", payload }])).rejects.toThrow(
      /subject/,
    );
    await expect(appendToOutbox(db, table, [{ type: "t", subject: "", payload }])).rejects.toThrow(/subject/);
    await expect(appendToOutbox(db, table, [{ type: "", subject: "a.b", payload }])).rejects.toThrow(/type/);
  });
});

describe("outbox relay publishing on PGlite", () => {
  it("never publishes events of a rolled-back transaction; publishes committed ones once, in order", async () => {
    const table = await freshOutbox();
    const bus = new RecordingBus();
    const rolledBack = [newEvent(100), newEvent(101)];
    await expect(
      db.transaction(async (tx) => {
        await appendToOutbox(tx, table, rolledBack);
        throw new Error("business rule failed");
      }),
    ).rejects.toThrow(/business rule/);
    const committed = await appendCommitted(db, table, 12, 4);
    const r = relay({ table, bus, batchSize: 5 });
    r.start();
    await waitFor("publishing", () => bus.published.length >= 12);
    await sleep(200); // several more polls: nothing may come twice
    await r.stop();
    expect(bus.ids()).toEqual(committed.map((e) => e.id));
    const first = bus.published[0] as PublishedEvent;
    expect(first.type).toBe("ecommerce.test.v1.Thing");
    expect(first.subject).toBe(committed[0]?.subject);
    expect(first.payload).toEqual(committed[0]?.payload);
    expect(first.occurredAt).toBeInstanceOf(Date);
    expect(await r.backlog()).toBe(0);
    expect(await db.select().from(table)).toHaveLength(0); // published rows are deleted
  });

  it("publishes promptly on wake() even with a long poll interval", async () => {
    const table = await freshOutbox();
    const bus = new RecordingBus();
    const r = relay({ table, bus, pollIntervalMs: 60_000 });
    r.start();
    await sleep(50); // the first (empty) run is over; the relay now idles for a minute
    const events = await appendCommitted(db, table, 3);
    for (let i = 0; i < 50; i++) r.wake();
    await waitFor("wake", () => bus.published.length === 3, 2_000);
    await r.stop();
    expect(bus.ids()).toEqual(events.map((e) => e.id));
  });

  it("feeds the in-process bus: subscribers get every committed event once, in order", async () => {
    const table = await freshOutbox();
    const bus = createInProcessBus();
    const seen: DeliveredEvent[] = [];
    await bus.subscribe({
      subjects: ["test.>"],
      durableName: "stats",
      handler: async (e) => {
        seen.push(e);
      },
    });
    const r = relay({ table, bus, batchSize: 4 });
    r.start();
    const events = await appendCommitted(db, table, 15, 2);
    r.wake();
    await waitFor("delivery", () => seen.length >= 15);
    await sleep(150);
    await r.stop();
    await bus.close();
    expect(seen.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(seen[4]?.payload).toEqual(events[4]?.payload);
    expect(seen[4]?.subject).toBe(events[4]?.subject);
  });
});

describe("outbox relay failures and shutdown on PGlite", () => {
  it("retries after publish failures without losing, skipping or repeating an event", async () => {
    const table = await freshOutbox();
    const bus = new RecordingBus();
    const registry = new Registry();
    const events = await appendCommitted(db, table, 20, 3);
    // The 6th event is refused 4 times; then the bus is "down" for a while.
    let refusals = 0;
    const sixth = events[5]?.id;
    bus.refuse = (e) => (e.id === sixth && refusals++ < 4 ? new Error("bus unavailable") : undefined);
    const r = relay({ table, bus, batchSize: 8, metrics: registry, name: "retry" });
    r.start();
    await waitFor("first twenty", () => bus.published.length >= 20);
    let down = true;
    bus.refuse = () => (down ? new Error("bus down") : undefined);
    const more = await appendCommitted(db, table, 10, 2, 20);
    r.wake();
    await sleep(150);
    expect(bus.published).toHaveLength(20);
    expect(await r.backlog()).toBe(10);
    down = false;
    await waitFor("the rest", () => bus.published.length >= 30);
    await sleep(150);
    await r.stop();
    // Exactly once, despite the refusals in the middle of batches. (The events sent behind the
    // refused one in its batch arrive before it: order holds only while publishing succeeds.)
    const expected = [...events, ...more].map((e) => e.id);
    expect(bus.ids()).toHaveLength(expected.length);
    expect([...bus.ids()].sort()).toEqual([...expected].sort());
    expect(bus.ids().slice(0, 5)).toEqual(expected.slice(0, 5));
    const text = await registry.metrics();
    expect(text).toMatch(/outbox_published_total\{outbox="retry"\} 30/);
    const failures = Number(/outbox_publish_failures_total\{outbox="retry"\} (\d+)/.exec(text)?.[1]);
    expect(failures).toBeGreaterThanOrEqual(5);
  });

  it("stop() lets the batch in progress finish and commit", async () => {
    const table = await freshOutbox();
    const bus = new RecordingBus();
    bus.delayMs = 40;
    await appendCommitted(db, table, 10, 10);
    const r = relay({ table, bus, batchSize: 10 });
    r.start();
    await waitFor("batch started", () => bus.attempts > 0);
    await r.stop();
    // Whatever was published is marked; nothing else.
    expect(bus.published.length).toBe(10);
    expect(await r.backlog()).toBe(0);
  });
});

describe("outbox relay housekeeping on PGlite", () => {
  it("reports the backlog of several outboxes on one registry", async () => {
    const registry = new Registry();
    const a = await freshOutbox();
    const b = await freshOutbox();
    await appendCommitted(db, a, 3);
    await appendCommitted(db, b, 5);
    const refuseAll = new RecordingBus();
    refuseAll.refuse = () => new Error("down");
    const ra = relay({ table: a, bus: refuseAll, name: "a", metrics: registry, maxBackoffMs: 10_000 });
    const rb = relay({ table: b, bus: refuseAll, name: "b", metrics: registry, maxBackoffMs: 10_000 });
    ra.start();
    rb.start();
    const text = await registry.metrics();
    expect(text).toMatch(/outbox_backlog\{outbox="a"\} 3/);
    expect(text).toMatch(/outbox_backlog\{outbox="b"\} 5/);
    await Promise.all([ra.stop(), rb.stop()]);
  });

  it("deletes the rows the bus took, and only those", async () => {
    const table = await freshOutbox();
    const bus = new RecordingBus();
    await appendCommitted(db, table, 4);
    const r = relay({ table, bus });
    r.start();
    await waitFor("the published rows gone", async () => (await db.select().from(table)).length === 0, 5_000);
    bus.refuse = () => new Error("down");
    await appendCommitted(db, table, 2, 1, 4);
    await sleep(150);
    await r.stop();
    expect(bus.published).toHaveLength(4);
    expect(await db.select().from(table)).toHaveLength(2);
  });
});

describe.skipIf(!process.env.DATABASE_URL)("outbox relays on PostgreSQL", () => {
  let testDb: Awaited<ReturnType<typeof createTestPostgresDatabase>>;

  beforeAll(async () => {
    testDb = await createTestPostgresDatabase(process.env.DATABASE_URL as string);
  });

  afterAll(async () => {
    await testDb?.drop();
  });

  it("two relays in two 'processes' publish every event exactly once", async () => {
    const writer = await testDb.open();
    const table = await createOutboxTable(writer.db, "concurrency");
    // Each relay has its own connection pool, as a separate process would.
    const first = await testDb.open();
    const second = await testDb.open();
    const bus = new RecordingBus();
    bus.delayMs = 2;
    const byRelay = new Map<string, number>();
    const relays = [first, second].map(
      (database, i) =>
        new OutboxRelay({
          db: database.db,
          table,
          name: `r${i}`,
          logger: silentLogger,
          batchSize: 5,
          pollIntervalMs: 20,
          bus: {
            publish: async (event) => {
              await bus.publish(event);
              byRelay.set(`r${i}`, (byRelay.get(`r${i}`) ?? 0) + 1);
            },
          },
        }),
    );
    for (const r of relays) r.start();
    // Writers keep committing while both relays run.
    const written = (
      await Promise.all([
        appendCommitted(writer.db, table, 100, 3, 0),
        appendCommitted(writer.db, table, 100, 1, 1_000),
        appendCommitted(writer.db, table, 100, 7, 2_000),
      ])
    ).flat();
    await waitFor("all published", () => bus.published.length >= 300, 20_000);
    await sleep(300);
    await Promise.all(relays.map((r) => r.stop()));
    expectExactlyOnce(
      bus,
      written.map((e) => e.id),
    );
    // Both really took part.
    expect(byRelay.get("r0")).toBeGreaterThan(0);
    expect(byRelay.get("r1")).toBeGreaterThan(0);
    expect(await relays[0]?.backlog()).toBe(0);
  });
});
