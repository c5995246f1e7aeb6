/**
 * Live order events end to end (docs/api.md, "Live order events"): an admin watching
 * GET /orders/events, or OrderService/WatchOrders over Connect and gRPC, sees an order placed with
 * POST /orders and moved with PUT /orders/:id within 2 s, with the documented fields; customers and
 * anonymous callers are refused before any stream starts; a client that goes away ends its watch
 * in the module. Runs once per available set-up: in the split, the stream crosses from the orders
 * process to the gateway (and Connect callers are forwarded by it); with replicas, the order is
 * placed through one process and seen by a watcher on the other.
 */
import http from "node:http";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderStatus } from "../src/gen/ecommerce/orders/v1/order_pb.js";
import { OrderService, type WatchOrdersResponse } from "../src/gen/ecommerce/orders/v1/order_service_pb.js";
import {
  type EventStreamClient,
  isEventStream,
  openEventStream,
  type StreamBlock,
} from "./support/event-stream-client.js";
import { type HttpResult, httpCall } from "./support/http-call.js";
import { expectOrderResult, type OrderJson, orderApi } from "./support/order-json.js";
import { expectProblem } from "./support/problem-assertions.js";
import { sampleValue } from "./support/prometheus-text.js";
import { availableSetups, IN_PROCESS_SETUPS, startTestApp, type TestApp } from "./support/test-app.js";

/** docs/api.md: an order event reaches a watcher within 2 s. */
const WITHIN_MS = 2_000;

const iso = (timestamp: Timestamp | undefined) => (timestamp ? timestampDate(timestamp).toISOString() : "");
const dataOf = (block: StreamBlock) => JSON.parse(block.data ?? "null") as Record<string, unknown>;
const about = (event: string, orderId: string) => (block: StreamBlock) =>
  block.event === event && dataOf(block).order_id === orderId;

describe.each(availableSetups())("live order events (%s)", (setup) => {
  let app: TestApp;
  const api = orderApi(() => app);

  beforeAll(async () => {
    app = await startTestApp(setup);
  });
  afterAll(async () => {
    await app?.stop();
  });

  async function watch(token: string = app.adminToken): Promise<EventStreamClient> {
    const opened = await openEventStream(app.baseUrl, "/orders/events", token);
    if (!isEventStream(opened)) throw new Error(`not a stream: ${opened.response.status} ${opened.text}`);
    return opened;
  }

  /** A customer of its own places an order of two units at 12.99, sent at `sentAt`. */
  async function placeOrder(): Promise<{ order: OrderJson; sentAt: number }> {
    const product = await api.createProduct({ price_cents: 1299, stock: 10 });
    const customer = await api.newCustomer("watched");
    const sentAt = Date.now();
    const order = expectOrderResult(
      await api.postOrder(customer.token, { items: [{ product_id: product.id, quantity: 2 }] }),
      201,
    );
    return { order, sentAt };
  }

  describe("GET /orders/events", () => {
    it("answers an admin with an event stream: ready at once, then each new order and status change within 2 s", async () => {
      const openedAt = Date.now();
      const streams = [await watch(), await watch()];
      try {
        for (const stream of streams) {
          expect(stream.response.status).toBe(200);
          expect(stream.response.headers.get("content-type")).toBe("text/event-stream");
          expect(stream.response.headers.get("cache-control")).toBe("no-cache");
          const ready = await stream.next(undefined, WITHIN_MS);
          expect(ready).toMatchObject({ event: "ready", data: "{}", retry: 2000 });
          expect(ready.at - openedAt).toBeLessThan(WITHIN_MS);
        }

        const { order, sentAt } = await placeOrder();
        const latencies: number[] = [];
        for (const stream of streams) {
          const created = await stream.next(about("order.created", order.id), WITHIN_MS);
          latencies.push(created.at - sentAt);
          expect(created.at - sentAt).toBeLessThan(WITHIN_MS);
          expect(dataOf(created)).toEqual({
            order_id: order.id,
            user_id: order.user_id,
            status: "pending",
            subtotal_cents: 2598,
            discount_cents: 0,
            total_cents: 2598,
            item_count: 2,
            created_at: order.created_at,
          });
          // Money as plain JSON integers, not strings.
          expect(created.data).toMatch(/"total_cents":2598[,}]/);
        }

        const changedAt = Date.now();
        const paid = expectOrderResult(await api.setStatus(app.adminToken, order.id, "paid"), 200);
        for (const stream of streams) {
          const changed = await stream.next(about("order.status_changed", order.id), WITHIN_MS);
          latencies.push(changed.at - changedAt);
          expect(changed.at - changedAt).toBeLessThan(WITHIN_MS);
          expect(dataOf(changed)).toEqual({
            order_id: order.id,
            user_id: order.user_id,
            from: "pending",
            to: "paid",
            total_cents: 2598,
            created_at: order.created_at,
            changed_at: paid.updated_at,
          });
        }
        console.info(
          `live order events (${setup}): order.created seen ${latencies.slice(0, 2).join(" and ")} ms after POST /orders was sent, ` +
            `order.status_changed ${latencies.slice(2).join(" and ")} ms after PUT /orders/:id`,
        );
        // Nothing but the documented events and comments came.
        for (const block of streams[0]?.blocks ?? []) {
          expect(["ready", "order.created", "order.status_changed", undefined]).toContain(block.event);
        }
      } finally {
        for (const stream of streams) stream.close();
      }
    });

    it("refuses a customer with 403 and an anonymous or badly signed caller with 401, as problem+json", async () => {
      const refusal = async (token: string | undefined): Promise<HttpResult> => {
        const opened = await openEventStream(app.baseUrl, "/orders/events", token);
        if (isEventStream(opened)) {
          opened.close();
          throw new Error("a stream was opened");
        }
        const { response, text } = opened;
        return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
      };
      expectProblem(await refusal(app.customerToken), 403, "permission_denied");
      expectProblem(await refusal(undefined), 401, "unauthenticated");
      expectProblem(await refusal(`${app.adminToken.slice(0, -2)}xx`), 401, "unauthenticated");
    });

    it("is not taken for an order id by GET /orders/{id}", async () => {
      const asCustomer = await httpCall(app.baseUrl, "GET", "/orders/events", { token: app.customerToken });
      // A customer reading an order that is not theirs would get 404; here the watch refuses them.
      expectProblem(asCustomer, 403, "permission_denied");
    });
  });

  describe.each([
    ["Connect", (baseUrl: string): Transport => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
    ["gRPC", (baseUrl: string): Transport => createGrpcTransport({ baseUrl })],
  ])("OrderService/WatchOrders over %s", (_protocol, transport) => {
    const client = () => createClient(OrderService, transport(app.baseUrl));
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    it("sends an empty first message, then the same events as the REST stream", async () => {
      const caller = new AbortController();
      const messages = client()
        .watchOrders({}, { headers: bearer(app.adminToken), signal: caller.signal, timeoutMs: 60_000 })
        [Symbol.asyncIterator]();
      try {
        const first = await messages.next();
        expect(first.done).toBe(false);
        expect((first.value as WatchOrdersResponse).event.case).toBeUndefined();

        const { order, sentAt } = await placeOrder();
        const paidAt = Date.now();
        const paid = expectOrderResult(await api.setStatus(app.adminToken, order.id, "paid"), 200);
        const seen: WatchOrdersResponse[] = [];
        const arrivedAt: number[] = [];
        while (seen.length < 2) {
          const next = await messages.next();
          if (next.done) throw new Error("the stream ended");
          if (next.value.event.value?.orderId === order.id) {
            seen.push(next.value);
            arrivedAt.push(Date.now());
          }
        }
        // Each event within the promise of its own request: the order's, then the status change's.
        expect((arrivedAt[0] ?? Number.POSITIVE_INFINITY) - sentAt).toBeLessThan(WITHIN_MS);
        expect((arrivedAt[1] ?? Number.POSITIVE_INFINITY) - paidAt).toBeLessThan(WITHIN_MS);
        const [created, changed] = seen.map((message) => message.event);
        expect(created?.case).toBe("created");
        expect(changed?.case).toBe("statusChanged");
        if (created?.case !== "created" || changed?.case !== "statusChanged") return;
        expect(created.value).toMatchObject({
          orderId: order.id,
          userId: order.user_id,
          status: OrderStatus.PENDING,
          subtotalCents: 2598n,
          discountCents: 0n,
          totalCents: 2598n,
          itemCount: 2,
        });
        expect(iso(created.value.createdAt)).toBe(order.created_at);
        expect(changed.value).toMatchObject({
          orderId: order.id,
          from: OrderStatus.PENDING,
          to: OrderStatus.PAID,
          totalCents: 2598n,
        });
        expect(iso(changed.value.changedAt)).toBe(paid.updated_at);
      } finally {
        caller.abort();
      }
    });

    it("refuses a customer (permission_denied) and an anonymous caller (unauthenticated)", async () => {
      const refusal = async (headers: Record<string, string>) => {
        try {
          for await (const _ of client().watchOrders({}, { headers, timeoutMs: 10_000 })) {
            return "a message";
          }
          return "a clean end";
        } catch (error) {
          return Code[ConnectError.from(error).code];
        }
      };
      expect(await refusal(bearer(app.customerToken))).toBe("PermissionDenied");
      expect(await refusal({})).toBe("Unauthenticated");
    });
  });

  it("answers WatchOrders requests with bad envelopes, and keeps their connection usable", async () => {
    // Found by the hostile-input sweep: connect-node stops reading such a request's body (and may
    // destroy it) before the answer finishes, which must neither throw in the server nor leave
    // the connection unreadable or cut (src/platform/server/early-answer.ts).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const base = new URL(app.baseUrl);
    const send = (path: string, headers: Record<string, string>, body: Buffer) =>
      new Promise<{ status?: number; text: string; reused: boolean }>((resolve, reject) => {
        const request = http.request({
          agent,
          host: base.hostname,
          port: base.port,
          method: "POST",
          path,
          headers: { ...headers, "content-length": String(body.length) },
        });
        request.on("error", reject);
        request.on("response", (response) => {
          let text = "";
          response.setEncoding("latin1");
          response.on("data", (chunk: string) => {
            text += chunk;
          });
          response.on("end", () =>
            resolve({ status: response.statusCode, text, reused: request.reusedSocket }),
          );
        });
        request.end(body);
      });
    const listReviews = () =>
      send(
        "/ecommerce.orders.v1.OrderService/ListReviews",
        { "content-type": "application/json" },
        Buffer.from('{"productId":"none"}'),
      );
    try {
      // On a connection already in use, where the body travels apart from the headers.
      expect((await listReviews()).status).toBe(404);
      // One envelope flagged compressed, with no compression.
      const refused = await send(
        "/ecommerce.orders.v1.OrderService/WatchOrders",
        {
          "content-type": "application/connect+json",
          "connect-protocol-version": "1",
          authorization: `Bearer ${app.adminToken}`,
        },
        Buffer.from([0x01, 0x00, 0x00, 0x00, 0x02, 0x7b, 0x7d]),
      );
      expect(refused.status).toBe(200);
      expect(refused.text).toContain('"code":"invalid_argument"');
      const next = await listReviews();
      expect(next.status, next.text).toBe(404);
      // Two request messages where one is expected: refused at the second, the rest of the body
      // unread by connect-node. The connection must not be cut a moment later (the linger after
      // an early answer) under whatever request uses it then.
      const twice = await send(
        "/ecommerce.orders.v1.OrderService/WatchOrders",
        {
          "content-type": "application/connect+json",
          "connect-protocol-version": "1",
          authorization: `Bearer ${app.adminToken}`,
        },
        Buffer.from([0x00, 0x00, 0x00, 0x00, 0x02, 0x7b, 0x7d, 0x00, 0x00, 0x00, 0x00, 0x02, 0x7b, 0x7d]),
      );
      expect(twice.text).toContain('"code":"invalid_argument"');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const later = await listReviews();
      expect(later).toMatchObject({ status: 404, reused: true });
    } finally {
      agent.destroy();
    }
  });

  // The module's watchers are counted where the module runs: the app itself in these set-ups.
  it.skipIf(!(IN_PROCESS_SETUPS as readonly string[]).includes(setup))(
    "ends the module's watch when the client goes away",
    async () => {
      const watchers = async () =>
        sampleValue((await httpCall(app.baseUrl, "GET", "/metrics")).text, "order_watchers", {}) ?? -1;
      expect(await watchers()).toBe(0);
      const stream = await watch();
      await stream.next(undefined, WITHIN_MS);
      const caller = new AbortController();
      const messages = createClient(
        OrderService,
        createConnectTransport({ baseUrl: app.baseUrl, httpVersion: "1.1" }),
      )
        .watchOrders({}, { headers: { authorization: `Bearer ${app.adminToken}` }, signal: caller.signal })
        [Symbol.asyncIterator]();
      await messages.next();
      expect(await watchers()).toBe(2);

      stream.close();
      caller.abort();
      const deadline = Date.now() + WITHIN_MS;
      while ((await watchers()) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await watchers()).toBe(0);
    },
  );
});
