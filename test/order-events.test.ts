/**
 * Order changes reach JetStream as protobuf events through the orders outbox, carrying what the
 * statistics module needs, each with Nats-Msg-Id = its event id.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderCreatedSchema, OrderStatusChangedSchema } from "../src/gen/ecommerce/orders/v1/events_pb.js";
import { OrderStatus } from "../src/gen/ecommerce/orders/v1/order_pb.js";
import { startTestApp, type TestApp } from "./support/test-app.js";

describe.skipIf(!process.env.NATS_URL)("order events on JetStream", () => {
  let app: TestApp;
  let nats: NatsConnection;

  beforeAll(async () => {
    app = await startTestApp("services");
    nats = await connect({ servers: process.env.NATS_URL });
  });
  afterAll(async () => {
    // Stopping the test app also deletes its stream.
    await app?.stop();
    await nats?.close();
  });

  it("publishes order.created and order.status_changed with totals, item count, statuses and times", async () => {
    const admin = { authorization: `Bearer ${app.adminToken}`, "content-type": "application/json" };
    const product = (await (
      await fetch(`${app.baseUrl}/products`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ name: "Kettle", price_cents: 2000, stock: 10 }),
      })
    ).json()) as { id: string };
    const order = (await (
      await fetch(`${app.baseUrl}/orders`, {
        method: "POST",
        headers: { authorization: `Bearer ${app.customerToken}`, "content-type": "application/json" },
        body: JSON.stringify({ items: [{ product_id: product.id, quantity: 3 }] }),
      })
    ).json()) as { id: string; created_at: string };
    const paid = await fetch(`${app.baseUrl}/orders/${order.id}`, {
      method: "PUT",
      headers: admin,
      body: JSON.stringify({ status: "paid" }),
    });
    expect(paid.status).toBe(200);

    const jsm = await nats.jetstreamManager();
    const stream = await jsm.streams.find(`${app.namespace}.>`);
    const subjectOf = (suffix: string) => `${app.namespace}.${suffix}`;
    const find = async (subject: string) => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const message = await jsm.streams
          .getMessage(stream, { last_by_subj: subject })
          .catch(() => undefined);
        if (message) return message;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`no message on ${subject}`);
    };

    const created = await find(subjectOf("orders.order.created"));
    const createdEvent = fromBinary(OrderCreatedSchema, created.data);
    expect(createdEvent).toMatchObject({
      orderId: order.id,
      userId: "customer-1",
      status: OrderStatus.PENDING,
      subtotalCents: 6000n,
      discountCents: 0n,
      totalCents: 6000n,
      itemCount: 3,
    });
    expect(timestampDate(createdEvent.createdAt as never).toISOString()).toBe(order.created_at);
    expect(created.header.get("Nats-Msg-Id")).toMatch(/^[0-9a-f-]{36}$/);

    const changed = fromBinary(
      OrderStatusChangedSchema,
      (await find(subjectOf("orders.order.status_changed"))).data,
    );
    expect(changed).toMatchObject({
      orderId: order.id,
      userId: "customer-1",
      from: OrderStatus.PENDING,
      to: OrderStatus.PAID,
      totalCents: 6000n,
    });
  });
});
