/**
 * Product changes reach JetStream as protobuf events, through the inventory outbox, each with
 * Nats-Msg-Id = its event id, on subjects under the deployment's namespace.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ProductCreatedSchema,
  ProductDeletedSchema,
  ProductUpdatedSchema,
} from "../src/gen/ecommerce/inventory/v1/events_pb.js";
import { startTestApp, type TestApp } from "./support/test-app.js";

describe.skipIf(!process.env.NATS_URL)("product events on JetStream", () => {
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

  it("publishes created, updated and deleted exactly once each, with the event id as Nats-Msg-Id", async () => {
    const headers = { authorization: `Bearer ${app.adminToken}`, "content-type": "application/json" };
    const created = await fetch(`${app.baseUrl}/products`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "Desk", price_cents: 19900, stock: 4 }),
    });
    const { id } = (await created.json()) as { id: string };
    await fetch(`${app.baseUrl}/products/${id}`, {
      method: "PATCH",
      headers,
      body: JSON.stringify({ stock: 3 }),
    });
    await fetch(`${app.baseUrl}/products/${id}`, { method: "DELETE", headers });

    const jsm = await nats.jetstreamManager();
    const stream = await jsm.streams.find(`${app.namespace}.>`);
    let count = 0;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      count = (await jsm.streams.info(stream)).state.messages;
      if (count >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Give a duplicate the chance to show up before counting for good.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await jsm.streams.info(stream)).state.messages).toBe(3);

    const messages = await Promise.all([1, 2, 3].map((seq) => jsm.streams.getMessage(stream, { seq })));
    expect(messages.map((message) => message.subject)).toEqual([
      `${app.namespace}.inventory.product.created`,
      `${app.namespace}.inventory.product.updated`,
      `${app.namespace}.inventory.product.deleted`,
    ]);
    const ids = messages.map((message) => message.header.get("Nats-Msg-Id"));
    expect(new Set(ids).size).toBe(3);
    for (const eventId of ids) expect(eventId).toMatch(/^[0-9a-f-]{36}$/);

    const [first, second, third] = messages;
    expect(fromBinary(ProductCreatedSchema, first?.data as Uint8Array).product?.id).toBe(id);
    expect(fromBinary(ProductUpdatedSchema, second?.data as Uint8Array).product?.stock).toBe(3);
    expect(fromBinary(ProductDeletedSchema, third?.data as Uint8Array).productId).toBe(id);
  });
});
