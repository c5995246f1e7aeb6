/**
 * Embedded mode (no NATS): events go outbox → relay → in-process bus → statistics consumer. The
 * outbox row is the only durable copy of an event there, so the relay may mark it only once the
 * statistics handler has committed its effect: a crash before that, or a handler that fails,
 * leaves the row to be delivered again, and the inbox makes the repeat harmless.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { eq, sql } from "drizzle-orm";
import { pgSchema } from "drizzle-orm/pg-core";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderCreatedSchema } from "../src/gen/ecommerce/orders/v1/events_pb.js";
import { OrderStatus } from "../src/gen/ecommerce/orders/v1/order_pb.js";
import { userOrderStats } from "../src/modules/statistics/schema.js";
import { StatisticsConsumer } from "../src/modules/statistics/statistics-consumer.js";
import { type Database, openDatabase } from "../src/platform/db/database.js";
import { createInProcessBus } from "../src/platform/events/in-process-bus.js";
import { appendToOutbox } from "../src/platform/events/outbox.js";
import { OutboxRelay } from "../src/platform/events/outbox-relay.js";
import { defineOutboxTable } from "../src/platform/events/outbox-table.js";
import { uuidv7 } from "../src/platform/ids.js";
import { createLogger } from "../src/platform/logger.js";
import { startInProcessApp, startTestApp } from "./support/test-app.js";
import { createTestDatabase } from "./support/test-database.js";

const logger = createLogger("silent");
/** The orders module's outbox, as its schema declares it. */
const ordersOutbox = defineOutboxTable(pgSchema("orders"));

/** Commits an order.created event of `userId` to the orders outbox, as the orders module does. */
async function commitOrderCreated(database: Database, userId: string, totalCents: bigint): Promise<string> {
  const payload = toBinary(
    OrderCreatedSchema,
    create(OrderCreatedSchema, {
      orderId: uuidv7(),
      userId,
      status: OrderStatus.PENDING,
      subtotalCents: totalCents,
      totalCents,
      itemCount: 1,
      createdAt: timestampFromDate(new Date("2026-11-26T09:30:00Z")),
    }),
  );
  const [id] = await appendToOutbox(database.db, ordersOutbox, [
    { type: OrderCreatedSchema.typeName, subject: "orders.order.created", payload },
  ]);
  return id as string;
}

describe("embedded event delivery (PGlite, in-process bus)", () => {
  let database: Database;

  beforeAll(async () => {
    database = await openDatabase({ url: undefined, dataDir: "memory://", logger });
  });
  afterAll(async () => {
    await database?.close();
  });

  const relayOn = (bus: ReturnType<typeof createInProcessBus>) =>
    new OutboxRelay({ db: database.db, table: ordersOutbox, bus, logger, name: "orders" });

  /** The relay deletes a row once every subscriber has handled its event. */
  const outboxRow = async (eventId: string) =>
    (await database.db.select().from(ordersOutbox).where(eq(ordersOutbox.id, eventId)))[0];
  const isPublished = async (eventId: string) => (await outboxRow(eventId)) === undefined;

  const userStats = async (userId: string) => {
    const [row] = await database.db
      .select({ totalOrders: userOrderStats.totalOrders, totalSpentCents: userOrderStats.totalSpentCents })
      .from(userOrderStats)
      .where(eq(userOrderStats.userId, userId));
    return row;
  };

  it("keeps the row until the handler has committed, so a crash in between loses nothing", async () => {
    const eventId = await commitOrderCreated(database, "crash-user", 1500n);

    // Process 1: the relay hands the event over; the statistics handler never gets to commit
    // (the process dies while it runs).
    const bus1 = createInProcessBus();
    let handlerStarted = false;
    let die: (error: Error) => void = () => {};
    const dying = new Promise<void>((_, reject) => {
      die = reject;
    });
    await bus1.subscribe({
      subjects: ["orders.order.>"],
      durableName: "statistics-orders",
      handler: async () => {
        handlerStarted = true;
        await dying;
      },
    });
    const firstRun = relayOn(bus1).runOnce();
    for (let tries = 0; tries < 200 && !handlerStarted; tries++) await new Promise((r) => setTimeout(r, 5));
    expect(handlerStarted).toBe(true);
    expect(await isPublished(eventId)).toBe(false);

    // Process 2 starts on the same database with the real statistics consumer.
    const bus2 = createInProcessBus();
    const consumer = new StatisticsConsumer(database.db, bus2, logger, new Registry());
    await consumer.start();
    try {
      const result = await relayOn(bus2).runOnce();
      expect(result.error).toBeUndefined();
      expect(result.published).toBe(1);
      expect(await userStats("crash-user")).toEqual({ totalOrders: 1, totalSpentCents: 1500n });
      expect(await isPublished(eventId)).toBe(true);
    } finally {
      await consumer.stop();
      await bus2.close();
      // Let process 1's abandoned run finish: its handler "died", so it deletes nothing.
      die(new Error("process 1 died"));
      const abandoned = await firstRun;
      expect(abandoned.published).toBe(0);
    }
  });

  it("a handler that fails keeps the row for the next run; the repeat is applied once", async () => {
    const eventId = await commitOrderCreated(database, "retry-user", 700n);
    const { seq: _seq, ...committed } = (await outboxRow(eventId)) as typeof ordersOutbox.$inferSelect;
    const bus = createInProcessBus();
    const consumer = new StatisticsConsumer(database.db, bus, logger, new Registry());
    await consumer.start();
    const relay = relayOn(bus);
    try {
      // The projection's write fails (as on a database error): the handler's transaction rolls back.
      await database.db.execute(
        sql`alter table statistics.user_order_stats add constraint refuse_writes check (false) not valid`,
      );
      const failed = await relay.runOnce();
      expect(failed.error).toBeDefined();
      expect(failed.published).toBe(0);
      expect(await isPublished(eventId)).toBe(false);
      expect(await userStats("retry-user")).toBeUndefined();

      await database.db.execute(sql`alter table statistics.user_order_stats drop constraint refuse_writes`);
      const retried = await relay.runOnce();
      expect(retried.error).toBeUndefined();
      expect(retried.published).toBe(1);
      expect(await isPublished(eventId)).toBe(true);
      expect(await userStats("retry-user")).toEqual({ totalOrders: 1, totalSpentCents: 700n });

      // A crash after the effect committed but before the row was deleted: delivered again, counted once.
      await database.db.insert(ordersOutbox).values(committed);
      const repeated = await relay.runOnce();
      expect(repeated.published).toBe(1);
      expect(await userStats("retry-user")).toEqual({ totalOrders: 1, totalSpentCents: 700n });
    } finally {
      await database.db.execute(
        sql`alter table statistics.user_order_stats drop constraint if exists refuse_writes`,
      );
      await consumer.stop();
      await bus.close();
    }
  });

  it("does not mark a row that a durable group without a member has yet to take", async () => {
    const eventId = await commitOrderCreated(database, "absent-user", 100n);
    const bus = createInProcessBus();
    const consumer = new StatisticsConsumer(database.db, bus, logger, new Registry());
    await consumer.start();
    await consumer.stop(); // the group exists but nobody is subscribed right now
    try {
      const result = await relayOn(bus).runOnce();
      expect(result.error).toBeDefined();
      expect(await isPublished(eventId)).toBe(false);
      await consumer.start();
      expect((await relayOn(bus).runOnce()).published).toBe(1);
      expect(await userStats("absent-user")).toEqual({ totalOrders: 1, totalSpentCents: 100n });
    } finally {
      await consumer.stop();
      await bus.close();
    }
  });
});

describe("in-process bus deliver (what the relay awaits)", () => {
  const event = (id: string) => ({
    id,
    type: "test.v1.Thing",
    subject: "orders.order.created",
    payload: new Uint8Array([1]),
    occurredAt: new Date(),
  });

  it("redelivers a failed event only to the subscriber that failed, counting its deliveries", async () => {
    const bus = createInProcessBus();
    const seen: string[] = [];
    let failFirst = true;
    await bus.subscribe({
      subjects: ["orders.>"],
      durableName: "steady",
      handler: async (e) => {
        seen.push(`steady ${e.deliveryCount}`);
      },
    });
    await bus.subscribe({
      subjects: ["orders.order.*"],
      handler: async (e) => {
        seen.push(`flaky ${e.deliveryCount} ${e.redelivered}`);
        if (failFirst) {
          failFirst = false;
          throw new Error("flaky");
        }
      },
    });
    await expect(bus.deliver(event("e1"))).rejects.toThrow("flaky");
    await bus.deliver(event("e1"));
    expect(seen.sort()).toEqual(["flaky 1 false", "flaky 2 true", "steady 1"]);
    await bus.close();
  });

  it("hands an event that keeps failing to onPoison after maxDeliveries, then resolves", async () => {
    const bus = createInProcessBus();
    const poisoned: number[] = [];
    await bus.subscribe({
      subjects: ["orders.>"],
      durableName: "broken",
      maxDeliveries: 3,
      onPoison: (e) => {
        poisoned.push(e.deliveryCount);
      },
      handler: async () => {
        throw new Error("always");
      },
    });
    await expect(bus.deliver(event("e2"))).rejects.toThrow("always");
    await expect(bus.deliver(event("e2"))).rejects.toThrow("always");
    await bus.deliver(event("e2"));
    expect(poisoned).toEqual([3]);
    await bus.close();
  });
});

describe("embedded restart", () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), "embedded-durability-"));
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("applies, after a restart, an order event that was committed but never delivered", async () => {
    // The order committed, then the process died before its event reached the statistics.
    const database = await openDatabase({ url: undefined, dataDir, logger });
    await commitOrderCreated(database, "restart-user", 2500n);
    await database.close();

    const app = await startTestApp("embedded", { DATA_DIR: dataDir });
    try {
      const deadline = Date.now() + 10_000;
      let stats: { total_orders?: number; total_spent_cents?: number } = {};
      while (Date.now() < deadline && stats.total_orders !== 1) {
        const response = await fetch(`${app.baseUrl}/stats/user-orders/restart-user`, {
          headers: { authorization: `Bearer ${app.adminToken}` },
        });
        stats = (await response.json()) as typeof stats;
        if (stats.total_orders !== 1) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(stats).toMatchObject({ total_orders: 1, total_spent_cents: 2500 });
    } finally {
      await app.stop();
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)("stopping without NATS (PostgreSQL, in-process bus)", () => {
  it("an event committed just before the stop leaves with the process: statistics stops after the relays' last flush", async () => {
    const testDatabase = await createTestDatabase(process.env.DATABASE_URL as string);
    const other = await openDatabase({ url: testDatabase.url, dataDir: "unused", logger });
    try {
      const app = await startInProcessApp("embedded", { DATABASE_URL: testDatabase.url });
      // Committed by another process sharing the database: no wake here, the relay's next poll is
      // up to a second away, so only the flush at stop can take it.
      const eventId = await commitOrderCreated(other, "stop-user", 700n);
      await app.stop();
      const [row] = await other.db.select().from(ordersOutbox).where(eq(ordersOutbox.id, eventId));
      expect(row).toBeUndefined(); // published, so deleted
      const [stats] = await other.db
        .select()
        .from(userOrderStats)
        .where(eq(userOrderStats.userId, "stop-user"));
      expect(stats?.totalOrders).toBe(1);
    } finally {
      await other.close();
      await testDatabase.drop();
    }
  });
});
