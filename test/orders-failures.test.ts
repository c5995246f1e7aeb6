/**
 * Orders when something fails half-way, on real PostgreSQL.
 *
 * No leaked stock: stock taken through StockService (as the orders module does) for an order that
 * is never stored comes back after the reservation timeout, and no such order exists; stock of an
 * order that was stored is confirmed and does not come back by itself.
 *
 * Exactly once: a CreateOrder retried with the same Idempotency-Key after the client gave up on
 * the first attempt (it may or may not have completed on the server) ends with one order and its
 * stock taken once, over REST and over Connect (where the server sees the client go away).
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StockService } from "../src/gen/ecommerce/inventory/v1/stock_service_pb.js";
import { OrderService } from "../src/gen/ecommerce/orders/v1/order_service_pb.js";
import { eventually, expectOrderResult, orderApi, settledValue } from "./support/order-json.js";
import { expectProblem } from "./support/problem-assertions.js";
import { availableSetups, startTestApp, type TestApp } from "./support/test-app.js";

const hasServices = availableSetups().includes("services");
const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe.skipIf(!process.env.DATABASE_URL || !hasServices)("orders: no leaked stock (services)", () => {
  let app: TestApp;
  let stock: ReturnType<typeof createClient<typeof StockService>>;
  const api = orderApi(() => app);

  beforeAll(async () => {
    app = await startTestApp("services", { RESERVATION_TIMEOUT_SECONDS: "1" });
    stock = createClient(StockService, createConnectTransport({ baseUrl: app.baseUrl, httpVersion: "1.1" }));
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("stock taken for an order that is never stored comes back within a few seconds, and no order exists", async () => {
    const a = await api.createProduct({ stock: 10 });
    const b = await api.createProduct({ stock: 5 });
    const orderId = randomUUID();
    // What the orders module does first; then "it dies" and never stores the order.
    const reserved = await stock.reserveStock(
      {
        orderId,
        lines: [
          { productId: a.id, quantity: 4 },
          { productId: b.id, quantity: 5 },
        ],
      },
      auth(app.serviceToken),
    );
    expect(reserved.lines).toHaveLength(2);
    expect(await api.stockOf(a.id)).toBe(6);
    expect(await api.stockOf(b.id)).toBe(0);
    // The product cannot be ordered meanwhile.
    expectProblem(
      await api.postOrder(app.customerToken, { items: [{ product_id: b.id, quantity: 1 }] }),
      409,
      "failed_precondition",
    );

    const started = Date.now();
    expect(await eventually(() => api.stockOf(a.id), 10, 8000)).toBe(10);
    expect(await eventually(() => api.stockOf(b.id), 5, 2000)).toBe(5);
    expect(Date.now() - started).toBeLessThan(8000);

    expectProblem(await api.call("GET", `/orders/${orderId}`, { token: app.adminToken }), 404, "not_found");
    const all = await api.listAll(app.adminToken, { page_size: "100" });
    expect(all.map((order) => order.id)).not.toContain(orderId);

    // A late confirmation cannot resurrect it, and a late release returns nothing more.
    const late = await stock.confirmReservations({ orderIds: [orderId] }, auth(app.serviceToken));
    expect(late.releasedOrderIds).toEqual([orderId]);
    expect((await stock.releaseReservation({ orderId }, auth(app.serviceToken))).released).toBe(false);
    expect(await api.stockOf(a.id)).toBe(10);
    expect(await api.stockOf(b.id)).toBe(5);

    // Taking stock again for the same order id is not a second reservation.
    await stock.reserveStock({ orderId, lines: [{ productId: a.id, quantity: 4 }] }, auth(app.serviceToken));
    expect(await api.stockOf(a.id)).toBe(10);
  });

  it("an order that was stored keeps its stock past the reservation timeout", async () => {
    const product = await api.createProduct({ stock: 10 });
    const customer = await api.newCustomer();
    const order = expectOrderResult(
      await api.postOrder(customer.token, { items: [{ product_id: product.id, quantity: 3 }] }),
      201,
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await api.stockOf(product.id)).toBe(7);
    expect((await api.call("GET", `/orders/${order.id}`, { token: customer.token })).body).toMatchObject({
      status: "pending",
    });
    // Cancelling it returns the stock once.
    expect((await api.setStatus(customer.token, order.id, "cancelled")).status).toBe(200);
    expect(await api.stockOf(product.id)).toBe(10);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await api.stockOf(product.id)).toBe(10);
  });

  it("StockService refuses customers, so a customer cannot take stock around the orders module", async () => {
    const product = await api.createProduct({ stock: 3 });
    const error = await stock
      .reserveStock(
        { orderId: randomUUID(), lines: [{ productId: product.id, quantity: 1 }] },
        auth(app.customerToken),
      )
      .then(
        () => undefined,
        (reason: unknown) => reason,
      );
    expect((error as ConnectError).code).toBe(Code.PermissionDenied);
    expect(await api.stockOf(product.id)).toBe(3);
  });
});

describe.skipIf(!process.env.DATABASE_URL || !hasServices)(
  "orders: retry after a client timeout (services)",
  () => {
    let app: TestApp;
    let orders: ReturnType<typeof createClient<typeof OrderService>>;
    const api = orderApi(() => app);
    // Abort the first attempt at different moments of the saga.
    const TIMEOUTS_MS = [1, 3, 6, 10, 15, 25, 40, 80];

    beforeAll(async () => {
      // The default reservation timeout (60 s): a reservation leaked by an aborted first attempt
      // would still hold its stock when the test looks.
      app = await startTestApp("services");
      orders = createClient(
        OrderService,
        createConnectTransport({ baseUrl: app.baseUrl, httpVersion: "1.1" }),
      );
    });
    afterAll(async () => {
      await app?.stop();
    });

    /** Retries until the key's order exists (409 while the first attempt is still running). */
    async function retryUntilCreated(send: () => Promise<{ status: number; id?: string; text: string }>) {
      for (let attempt = 0; attempt < 100; attempt++) {
        const result = await send();
        if (result.status === 201) return result.id as string;
        expect(result.status, result.text).toBe(409);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error("the retried order was never created");
    }

    it.each(TIMEOUTS_MS)(
      "over REST, first attempt aborted after %i ms: one order, stock taken once",
      async (timeoutMs) => {
        const a = await api.createProduct({ stock: 20 });
        const b = await api.createProduct({ stock: 20 });
        const customer = await api.newCustomer();
        const key = randomUUID();
        const body = {
          items: [
            { product_id: a.id, quantity: 3 },
            { product_id: b.id, quantity: 2 },
          ],
        };
        await fetch(`${app.baseUrl}/orders`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${customer.token}`,
            "content-type": "application/json",
            "idempotency-key": key,
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        }).then(
          (response) => response.text(),
          () => undefined,
        );
        const id = await retryUntilCreated(async () => {
          const result = await api.postOrder(customer.token, body, { "idempotency-key": key });
          return {
            status: result.status,
            id: (result.body as { id?: string } | undefined)?.id,
            text: result.text,
          };
        });
        expect(await settledValue(() => api.stockOf(a.id))).toBe(17);
        expect(await api.stockOf(b.id)).toBe(18);
        expect((await api.listAll(customer.token)).map((order) => order.id)).toEqual([id]);
        // One more repeat changes nothing.
        const again = expectOrderResult(
          await api.postOrder(customer.token, body, { "idempotency-key": key }),
          201,
        );
        expect(again.id).toBe(id);
        expect(await api.stockOf(a.id)).toBe(17);
      },
    );

    // Over Connect the server aborts the handler's signal when the client goes away; the saga must
    // not follow it (a disconnect while inventory takes the stock once left the stock taken and the
    // key free, so the retry took the stock a second time).
    it.each(TIMEOUTS_MS)(
      "over Connect, first attempt aborted after %i ms: one order, stock taken once",
      async (timeoutMs) => {
        const a = await api.createProduct({ stock: 20 });
        const b = await api.createProduct({ stock: 20 });
        const customer = await api.newCustomer();
        const idempotencyKey = randomUUID();
        const request = {
          items: [
            { productId: a.id, quantity: 3 },
            { productId: b.id, quantity: 2 },
          ],
          idempotencyKey,
        };
        await orders
          .createOrder(request, { ...auth(customer.token), signal: AbortSignal.timeout(timeoutMs) })
          .catch(() => undefined);
        const id = await retryUntilCreated(async () => {
          try {
            const { order } = await orders.createOrder(request, auth(customer.token));
            return { status: 201, id: order?.id, text: "" };
          } catch (error) {
            const connectError = ConnectError.from(error);
            return { status: connectError.code === Code.Aborted ? 409 : 500, text: connectError.message };
          }
        });
        const stockA = await settledValue(() => api.stockOf(a.id));
        expect((await api.listAll(customer.token)).map((order) => order.id)).toEqual([id]);
        expect(
          { stockA, stockB: await api.stockOf(b.id) },
          "stock taken more than once for one order",
        ).toEqual({
          stockA: 17,
          stockB: 18,
        });
      },
    );
  },
);
