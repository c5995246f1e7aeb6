/**
 * Applying events in batches (one statement per batch) must end exactly where applying them one
 * by one ends, count every event id once however often and however grouped it comes, and stay
 * deadlock-free when several processes apply batches over the same rows at once.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { asc } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/support/test-database.js";
import { ProductCreatedSchema, ProductDeletedSchema } from "../../gen/ecommerce/inventory/v1/events_pb.js";
import { OrderCreatedSchema, OrderStatusChangedSchema } from "../../gen/ecommerce/orders/v1/events_pb.js";
import { OrderStatus } from "../../gen/ecommerce/orders/v1/order_pb.js";
import { type Database, openDatabase } from "../../platform/db/database.js";
import { uuidv7 } from "../../platform/ids.js";
import { createLogger } from "../../platform/logger.js";
import { storeOrdersByHour, storeTotals, userOrderStats, userOrdersByHour } from "./schema.js";
import { applyEvents, type ProjectionEvent } from "./statistics-projection.js";

const logger = createLogger("silent");

function orderCreated(userId: string, totalCents: bigint, hour: number): ProjectionEvent {
  const createdAt = new Date(Date.UTC(2026, 10, 26, hour, 30));
  const message = create(OrderCreatedSchema, {
    orderId: uuidv7(),
    userId,
    status: OrderStatus.PENDING,
    totalCents,
    createdAt: timestampFromDate(createdAt),
  });
  return { id: uuidv7(), type: OrderCreatedSchema.typeName, payload: toBinary(OrderCreatedSchema, message) };
}

function orderCancelled(userId: string, totalCents: bigint): ProjectionEvent {
  const message = create(OrderStatusChangedSchema, {
    orderId: uuidv7(),
    userId,
    from: OrderStatus.PENDING,
    to: OrderStatus.CANCELLED,
    totalCents,
  });
  return {
    id: uuidv7(),
    type: OrderStatusChangedSchema.typeName,
    payload: toBinary(OrderStatusChangedSchema, message),
  };
}

function productEvent(kind: "created" | "deleted"): ProjectionEvent {
  return kind === "created"
    ? {
        id: uuidv7(),
        type: ProductCreatedSchema.typeName,
        payload: toBinary(ProductCreatedSchema, create(ProductCreatedSchema, {})),
      }
    : {
        id: uuidv7(),
        type: ProductDeletedSchema.typeName,
        payload: toBinary(ProductDeletedSchema, create(ProductDeletedSchema, { productId: uuidv7() })),
      };
}

/** A deterministic mix: orders of 12 users over several hours, cancellations (some before any order of their user), products. */
function history(count: number, seed = 7): ProjectionEvent[] {
  let state = seed;
  const random = (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return Math.floor(state / 65_536) % n; // the high bits: an LCG's low bits repeat quickly
  };
  return Array.from({ length: count }, () => {
    const user = `user-${random(12)}`;
    const pick = random(10);
    if (pick < 6) return orderCreated(user, BigInt(100 + random(10_000)), random(24));
    if (pick < 8) return orderCancelled(user, BigInt(100 + random(10_000)));
    return productEvent(pick === 8 ? "created" : "deleted");
  });
}

async function projection(database: Database) {
  const { db } = database;
  return {
    users: await db.select().from(userOrderStats).orderBy(asc(userOrderStats.userId)),
    hours: await db
      .select()
      .from(userOrdersByHour)
      .orderBy(asc(userOrdersByHour.userId), asc(userOrdersByHour.hour)),
    totals: await db.select().from(storeTotals),
    storeHours: await db.select().from(storeOrdersByHour).orderBy(asc(storeOrdersByHour.hour)),
  };
}

const embedded = () => openDatabase({ url: undefined, dataDir: "memory://", logger });

describe("statistics projection in batches", () => {
  it("ends exactly where applying the same events one by one ends", async () => {
    const events = history(300);
    const [oneByOne, batched] = await Promise.all([embedded(), embedded()]);
    try {
      for (const event of events) await applyEvents(oneByOne.db, [event]);
      for (let start = 0; start < events.length; start += 37) {
        await applyEvents(batched.db, events.slice(start, start + 37));
      }
      const expected = await projection(oneByOne);
      expect(expected.users.length).toBe(12);
      expect(expected.totals[0]?.totalUsers).toBeGreaterThan(0);
      expect(await projection(batched)).toEqual(expected);
    } finally {
      await Promise.all([oneByOne.close(), batched.close()]);
    }
  });

  it("counts an event id once, repeated in one batch or across batches", async () => {
    const database = await embedded();
    try {
      const created = orderCreated("repeat", 1_500n, 9);
      const product = productEvent("created");
      await applyEvents(database.db, [created, created, product, { ...created }]);
      await applyEvents(database.db, [product, created]);
      await applyEvents(database.db, [created]);
      const { users, hours, totals, storeHours } = await projection(database);
      expect(users).toEqual([
        { userId: "repeat", totalOrders: 1, cancelledOrders: 0, totalSpentCents: 1_500n },
      ]);
      expect(hours).toEqual([{ userId: "repeat", hour: 9, count: 1 }]);
      expect(storeHours).toEqual([{ hour: 9, count: 1 }]);
      expect(totals).toEqual([
        { id: 1, totalUsers: 1, totalProducts: 1, totalOrders: 1, revenueCents: 1_500n },
      ]);
    } finally {
      await database.close();
    }
  });

  it("counts the store's orders by hour: every user's orders of that hour, cancelled ones included", async () => {
    const database = await embedded();
    try {
      await applyEvents(database.db, [
        orderCreated("a", 100n, 0),
        orderCreated("b", 100n, 0),
        orderCreated("a", 100n, 23),
      ]);
      await applyEvents(database.db, [
        orderCreated("c", 100n, 23),
        orderCancelled("c", 100n),
        orderCreated("c", 1n, 7),
      ]);
      const { hours, storeHours } = await projection(database);
      expect(storeHours).toEqual([
        { hour: 0, count: 2 },
        { hour: 7, count: 1 },
        { hour: 23, count: 2 },
      ]);
      // The same as the users' hours summed, which is how the migration fills it for old data.
      const summed = new Map<number, number>();
      for (const row of hours) summed.set(row.hour, (summed.get(row.hour) ?? 0) + row.count);
      expect(storeHours).toEqual(
        [...summed].sort(([x], [y]) => x - y).map(([hour, count]) => ({ hour, count })),
      );
    } finally {
      await database.close();
    }
  });

  it("counts a user once however many of their first orders share a batch", async () => {
    const database = await embedded();
    try {
      await applyEvents(database.db, [orderCancelled("late", 300n), orderCreated("late", 300n, 1)]);
      await applyEvents(database.db, [orderCreated("new", 100n, 2), orderCreated("new", 200n, 2)]);
      await applyEvents(database.db, [orderCreated("new", 50n, 3), orderCreated("late", 10n, 3)]);
      const { totals } = await projection(database);
      expect(totals[0]).toMatchObject({ totalUsers: 2, totalOrders: 5, revenueCents: 360n });
    } finally {
      await database.close();
    }
  });

  it("leaves out and returns the events it cannot use, applying the rest", async () => {
    const database = await embedded();
    try {
      const unknown = {
        id: uuidv7(),
        type: "ecommerce.orders.v1.SomethingNew",
        payload: new Uint8Array([1]),
      };
      const garbage = {
        id: uuidv7(),
        type: OrderCreatedSchema.typeName,
        payload: new Uint8Array([0xff, 0xff]),
      };
      const good = orderCreated("fine", 700n, 4);
      const { poisoned } = await applyEvents(database.db, [unknown, good, garbage]);
      expect(poisoned.map(({ event }) => event.id)).toEqual([unknown.id, garbage.id]);
      expect(poisoned[0]?.error.message).toMatch(/unknown event type/);
      expect(poisoned[1]?.error.message).toMatch(/undecodable/);
      expect((await projection(database)).users).toEqual([
        { userId: "fine", totalOrders: 1, cancelledOrders: 0, totalSpentCents: 700n },
      ]);
    } finally {
      await database.close();
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)("statistics projection in batches on PostgreSQL", () => {
  let fresh: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    fresh = await createTestDatabase(process.env.DATABASE_URL as string);
    database = await openDatabase({ url: fresh.url, dataDir: "unused", logger, maxConnections: 8 });
  });
  afterAll(async () => {
    await database?.close();
    await fresh?.drop();
  });

  it("applies overlapping batches from several processes at once without deadlocks, exactly", async () => {
    // Eight appliers (as eight processes sharing the durable group would), each with batches over
    // the same few users in its own order, all at once; a lock taken in a different order by two
    // of them would deadlock (PostgreSQL aborts one: the call rejects).
    const appliers = Array.from({ length: 8 }, (_, applier) => history(400, applier + 1));
    await Promise.all(
      appliers.map(async (events) => {
        for (let start = 0; start < events.length; start += 50) {
          await applyEvents(database.db, events.slice(start, start + 50));
        }
      }),
    );
    const reference = await embedded();
    try {
      for (const events of appliers) {
        for (const event of events) await applyEvents(reference.db, [event]);
      }
      expect(await projection(database)).toEqual(await projection(reference));
    } finally {
      await reference.close();
    }
  });
});
