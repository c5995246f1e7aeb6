import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { eq } from "drizzle-orm";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProductCreatedSchema, ProductDeletedSchema } from "../../gen/ecommerce/inventory/v1/events_pb.js";
import { OrderCreatedSchema, OrderStatusChangedSchema } from "../../gen/ecommerce/orders/v1/events_pb.js";
import { OrderStatus } from "../../gen/ecommerce/orders/v1/order_pb.js";
import { type Database, openDatabase } from "../../platform/db/database.js";
import type { DeliveredEvent } from "../../platform/events/event-bus.js";
import { createInProcessBus } from "../../platform/events/in-process-bus.js";
import { uuidv7 } from "../../platform/ids.js";
import { createLogger } from "../../platform/logger.js";
import { parkedEvents, storeTotals, userOrderStats, userOrdersByHour } from "./schema.js";
import { StatisticsConsumer } from "./statistics-consumer.js";

const logger = createLogger("silent");

function event(type: string, payload: Uint8Array, id = uuidv7()): DeliveredEvent {
  return { id, type, subject: "x.y", payload, occurredAt: new Date(), redelivered: false, deliveryCount: 1 };
}

function orderCreated(
  userId: string,
  totalCents: bigint,
  createdAt: Date,
  orderId = uuidv7(),
): DeliveredEvent {
  const message = create(OrderCreatedSchema, {
    orderId,
    userId,
    status: OrderStatus.PENDING,
    subtotalCents: totalCents,
    totalCents,
    itemCount: 1,
    createdAt: timestampFromDate(createdAt),
  });
  return event(OrderCreatedSchema.typeName, toBinary(OrderCreatedSchema, message));
}

function cancelled(userId: string, totalCents: bigint, orderId = uuidv7()): DeliveredEvent {
  const message = create(OrderStatusChangedSchema, {
    orderId,
    userId,
    from: OrderStatus.PENDING,
    to: OrderStatus.CANCELLED,
    totalCents,
  });
  return event(OrderStatusChangedSchema.typeName, toBinary(OrderStatusChangedSchema, message));
}

describe("statistics consumer", () => {
  let database: Database;
  let consumer: StatisticsConsumer;
  let metrics: Registry;
  const statsOf = async (userId: string) =>
    (await database.db.select().from(userOrderStats).where(eq(userOrderStats.userId, userId)))[0];
  const totals = async () => (await database.db.select().from(storeTotals))[0];

  beforeAll(async () => {
    database = await openDatabase({ url: undefined, dataDir: "memory://", logger });
    metrics = new Registry();
    consumer = new StatisticsConsumer(database.db, createInProcessBus(), logger, metrics);
  });
  afterAll(async () => {
    await database?.close();
  });

  it("counts a redelivered event once", async () => {
    const created = orderCreated("u-redelivery", 1500n, new Date("2026-11-26T13:05:00Z"));
    await consumer.handle(created);
    await consumer.handle({ ...created, redelivered: true, deliveryCount: 2 });
    await consumer.handle(created);
    expect(await statsOf("u-redelivery")).toMatchObject({
      totalOrders: 1,
      totalSpentCents: 1500n,
      cancelledOrders: 0,
    });
    const hours = await database.db
      .select()
      .from(userOrdersByHour)
      .where(eq(userOrdersByHour.userId, "u-redelivery"));
    expect(hours).toEqual([{ userId: "u-redelivery", hour: 13, count: 1 }]);
  });

  it("ends right whichever of created and cancelled arrives first", async () => {
    const orderId = uuidv7();
    await consumer.handle(cancelled("u-order", 700n, orderId));
    await consumer.handle(orderCreated("u-order", 700n, new Date(), orderId));
    expect(await statsOf("u-order")).toMatchObject({
      totalOrders: 1,
      cancelledOrders: 1,
      totalSpentCents: 0n,
    });
  });

  it("counts a user once, from their first order, and follows product creates and deletes", async () => {
    const before = await totals();
    await consumer.handle(orderCreated("u-new", 100n, new Date()));
    await consumer.handle(orderCreated("u-new", 200n, new Date()));
    const product = create(ProductCreatedSchema, {});
    await consumer.handle(event(ProductCreatedSchema.typeName, toBinary(ProductCreatedSchema, product)));
    await consumer.handle(event(ProductCreatedSchema.typeName, toBinary(ProductCreatedSchema, product)));
    const deleted = create(ProductDeletedSchema, { productId: uuidv7() });
    await consumer.handle(event(ProductDeletedSchema.typeName, toBinary(ProductDeletedSchema, deleted)));
    const after = await totals();
    expect((after?.totalUsers ?? 0) - (before?.totalUsers ?? 0)).toBe(1);
    expect((after?.totalOrders ?? 0) - (before?.totalOrders ?? 0)).toBe(2);
    expect((after?.revenueCents ?? 0n) - (before?.revenueCents ?? 0n)).toBe(300n);
    expect((after?.totalProducts ?? 0) - (before?.totalProducts ?? 0)).toBe(1);
  });

  it("parks unknown and undecodable events, with a metric, instead of failing forever", async () => {
    const unknown = event("ecommerce.orders.v1.SomethingNew", new Uint8Array([1, 2, 3]));
    const garbage = event(OrderCreatedSchema.typeName, new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    await consumer.handle(unknown);
    await consumer.handle(garbage);
    const parked = await database.db.select().from(parkedEvents);
    expect(parked.map((row) => row.eventId).sort()).toEqual([unknown.id, garbage.id].sort());
    const metric = await metrics.getSingleMetric("statistics_parked_events_total")?.get();
    expect(metric?.values.reduce((sum, value) => sum + value.value, 0)).toBe(2);
  });
});

describe("statistics consumer giving up on an event", () => {
  it("parks an event whose own statement fails, and keeps one that failed through an outage", async () => {
    const database = await openDatabase({ url: undefined, dataDir: "memory://", logger });
    const consumer = new StatisticsConsumer(database.db, createInProcessBus(), logger, new Registry());
    try {
      const overflowing = orderCreated("u-overflow", 1n, new Date());
      const overflow = Object.assign(new Error("bigint out of range"), { code: "22003" });
      await consumer.giveUp(
        { ...overflowing, deliveryCount: 20 },
        new Error("Failed query", { cause: overflow }),
      );
      const outaged = orderCreated("u-outage", 1n, new Date());
      const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
      // Throwing tells the bus to keep the event and deliver it again later.
      await expect(consumer.giveUp({ ...outaged, deliveryCount: 20 }, refused)).rejects.toBe(refused);
      const parked = await database.db.select().from(parkedEvents);
      expect(parked.map((row) => row.eventId)).toEqual([overflowing.id]);
    } finally {
      await database.close();
    }
  });
});

describe("statistics consumer lag metric", () => {
  it("exposes the events waiting per source", async () => {
    const database = await openDatabase({ url: undefined, dataDir: "memory://", logger });
    const metrics = new Registry();
    const bus = createInProcessBus();
    const consumer = new StatisticsConsumer(database.db, bus, logger, metrics);
    await consumer.start();
    try {
      const text = await metrics.getSingleMetricAsString("statistics_consumer_lag");
      expect(text).toContain('statistics_consumer_lag{source="statistics-orders"} 0');
      expect(text).toContain('statistics_consumer_lag{source="statistics-products"} 0');
    } finally {
      await consumer.stop();
      await bus.close();
      await database.close();
    }
  });
});
