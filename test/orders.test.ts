/**
 * Orders end to end over REST, as docs/api.md describes them: creation (catalog prices, merged lines,
 * the largest active discount with floor rounding, stock taken all or nothing), who may order and
 * read what, listing with paging and filters, the status lifecycle with stock returned exactly once
 * on cancellation, bad input that changes nothing, and Idempotency-Key. The same flows over Connect.
 * Runs once per available set-up, one app per set-up; every test uses customers of its own.
 */
import { randomUUID } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderStatus } from "../src/gen/ecommerce/orders/v1/order_pb.js";
import { OrderService } from "../src/gen/ecommerce/orders/v1/order_service_pb.js";
import type { HttpResult } from "./support/http-call.js";
import {
  expectOrderResult,
  itemsById,
  type OrderJson,
  orderApi,
  settledValue,
} from "./support/order-json.js";
import { expectProblem } from "./support/problem-assertions.js";
import { availableSetups, startTestApp, type TestApp } from "./support/test-app.js";

const HOUR = 3_600_000;
const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

describe.each(availableSetups())("orders over REST (%s)", (setup) => {
  let app: TestApp;
  const api = orderApi(() => app);
  const { call, createProduct, stockOf, newCustomer, postOrder, setStatus, listAll } = api;

  beforeAll(async () => {
    app = await startTestApp(setup);
  });
  afterAll(async () => {
    await app?.stop();
  });

  const getOrder = (token: string | undefined, id: string) => call("GET", `/orders/${id}`, { token });

  async function placeOrder(token: string, items: { product_id: string; quantity: number }[]) {
    return expectOrderResult(await postOrder(token, { items }), 201);
  }

  async function createDiscount(productIds: string[], percentOff: number, window?: [number, number]) {
    const [starts, ends] = window ?? [-HOUR, HOUR];
    const result = await call("POST", "/discounts", {
      token: app.adminToken,
      json: {
        name: `${percentOff}% off`,
        percent_off: percentOff,
        product_ids: productIds,
        starts_at: iso(starts),
        ends_at: iso(ends),
      },
    });
    expect(result.status, result.text).toBe(201);
    return (result.body as { id: string }).id;
  }

  describe("create", () => {
    it("answers 201 with Location and a pending order priced from the catalog; stock is taken", async () => {
      const cup = await createProduct({ name: "Espresso cup", price_cents: 1299, stock: 10 });
      const pot = await createProduct({ name: "Teapot", price_cents: 500, stock: 10 });
      const customer = await newCustomer();
      const before = Date.now();
      const result = await postOrder(customer.token, {
        items: [
          { product_id: cup.id, quantity: 2 },
          { product_id: pot.id, quantity: 3 },
        ],
      });
      const order = expectOrderResult(result, 201);
      expect(order).toMatchObject({
        user_id: customer.sub,
        status: "pending",
        subtotal_cents: 2 * 1299 + 3 * 500,
        discount_cents: 0,
        total_cents: 2 * 1299 + 3 * 500,
      });
      expect(itemsById(order)).toEqual({
        [cup.id]: {
          product_id: cup.id,
          product_name: "Espresso cup",
          quantity: 2,
          unit_price_cents: 1299,
          discount_cents: 0,
          line_total_cents: 2598,
        },
        [pot.id]: {
          product_id: pot.id,
          product_name: "Teapot",
          quantity: 3,
          unit_price_cents: 500,
          discount_cents: 0,
          line_total_cents: 1500,
        },
      });
      expect(result.text).toMatch(/"total_cents":4098[,}]/);
      const createdAt = Date.parse(order.created_at);
      expect(createdAt).toBeGreaterThanOrEqual(before - 1000);
      expect(createdAt).toBeLessThanOrEqual(Date.now() + 1000);
      expect(order.updated_at).toBe(order.created_at);

      const location = result.headers.get("location");
      expect(location).not.toBeNull();
      expect(new URL(location as string, app.baseUrl).pathname).toBe(`/orders/${order.id}`);
      const fetched = await call("GET", location as string, { token: customer.token });
      expect(expectOrderResult(fetched, 200)).toEqual(order);

      expect(await stockOf(cup.id)).toBe(8);
      expect(await stockOf(pot.id)).toBe(7);
    });

    it("ignores any price or total the client sends", async () => {
      const product = await createProduct({ price_cents: 2500, stock: 5 });
      const customer = await newCustomer();
      const result = await postOrder(customer.token, {
        items: [
          { product_id: product.id, quantity: 2, unit_price_cents: 1, price_cents: 1, discount_cents: 2400 },
        ],
        subtotal_cents: 2,
        discount_cents: 2,
        total_cents: 0,
      });
      const order = expectOrderResult(result, 201);
      expect(order.items).toEqual([
        {
          product_id: product.id,
          product_name: product.name,
          quantity: 2,
          unit_price_cents: 2500,
          discount_cents: 0,
          line_total_cents: 5000,
        },
      ]);
      expect(order).toMatchObject({ subtotal_cents: 5000, discount_cents: 0, total_cents: 5000 });
    });

    it("merges repeated products into one line and takes their stock together", async () => {
      const a = await createProduct({ price_cents: 300, stock: 20 });
      const b = await createProduct({ price_cents: 700, stock: 20 });
      const customer = await newCustomer();
      const order = await placeOrder(customer.token, [
        { product_id: a.id, quantity: 2 },
        { product_id: b.id, quantity: 1 },
        { product_id: a.id, quantity: 3 },
      ]);
      expect(order.items).toHaveLength(2);
      expect(itemsById(order)[a.id]).toMatchObject({
        quantity: 5,
        unit_price_cents: 300,
        line_total_cents: 1500,
      });
      expect(itemsById(order)[b.id]).toMatchObject({ quantity: 1, line_total_cents: 700 });
      expect(order.total_cents).toBe(2200);
      expect(await stockOf(a.id)).toBe(15);
      expect(await stockOf(b.id)).toBe(19);
    });

    it("rejects merged lines of one product above 1000 in all, and changes nothing", async () => {
      const product = await createProduct({ stock: 5000 });
      const customer = await newCustomer();
      const result = await postOrder(customer.token, {
        items: [
          { product_id: product.id, quantity: 600 },
          { product_id: product.id, quantity: 600 },
        ],
      });
      expectProblem(result, 400, "invalid_argument");
      expect(await stockOf(product.id)).toBe(5000);
      expect(await listAll(customer.token)).toEqual([]);
    });

    it("applies the largest discount in force per product, rounding each unit's discount down", async () => {
      const lamp = await createProduct({ name: "Lamp", price_cents: 999, stock: 10 });
      const rug = await createProduct({ name: "Rug", price_cents: 1001, stock: 10 });
      const vase = await createProduct({ name: "Vase", price_cents: 450, stock: 10 });
      await createDiscount([lamp.id], 10);
      await createDiscount([lamp.id, rug.id], 25);
      await createDiscount([rug.id], 33);
      // Not in force now: ended an hour ago, starts in an hour.
      await createDiscount([lamp.id, vase.id], 50, [-2 * HOUR, -HOUR]);
      await createDiscount([lamp.id, vase.id], 90, [HOUR, 2 * HOUR]);

      const customer = await newCustomer();
      const order = await placeOrder(customer.token, [
        { product_id: lamp.id, quantity: 3 },
        { product_id: rug.id, quantity: 2 },
        { product_id: vase.id, quantity: 1 },
      ]);
      const items = itemsById(order);
      // 999 × 25% = 249.75 → 249 per unit; 1001 × 33% = 330.33 → 330 per unit.
      expect(items[lamp.id]).toEqual({
        product_id: lamp.id,
        product_name: "Lamp",
        quantity: 3,
        unit_price_cents: 999,
        discount_cents: 3 * 249,
        line_total_cents: 3 * 999 - 3 * 249,
      });
      expect(items[rug.id]).toMatchObject({
        unit_price_cents: 1001,
        discount_cents: 660,
        line_total_cents: 1342,
      });
      expect(items[vase.id]).toMatchObject({
        unit_price_cents: 450,
        discount_cents: 0,
        line_total_cents: 450,
      });
      expect(order).toMatchObject({
        subtotal_cents: 2997 + 2002 + 450,
        discount_cents: 747 + 660,
        total_cents: 2997 + 2002 + 450 - 747 - 660,
      });
    });

    it("a deleted discount no longer applies", async () => {
      const product = await createProduct({ price_cents: 1000, stock: 10 });
      const discountId = await createDiscount([product.id], 40);
      const removed = await call("DELETE", `/discounts/${discountId}`, { token: app.adminToken });
      expect(removed.status, removed.text).toBe(204);
      const customer = await newCustomer();
      const order = await placeOrder(customer.token, [{ product_id: product.id, quantity: 1 }]);
      expect(order.items[0]).toMatchObject({ unit_price_cents: 1000, discount_cents: 0 });
    });

    it("keeps each item's name and price after the product is repriced, renamed and deleted", async () => {
      const product = await createProduct({ name: "Old name", price_cents: 1500, stock: 10 });
      await createDiscount([product.id], 20);
      const customer = await newCustomer();
      const order = await placeOrder(customer.token, [{ product_id: product.id, quantity: 2 }]);
      const expectedItem = {
        product_id: product.id,
        product_name: "Old name",
        quantity: 2,
        unit_price_cents: 1500,
        discount_cents: 600,
        line_total_cents: 2400,
      };
      expect(order.items).toEqual([expectedItem]);

      const updated = await call("PUT", `/products/${product.id}`, {
        token: app.adminToken,
        json: { name: "New name", price_cents: 9999 },
      });
      expect(updated.status, updated.text).toBe(200);
      const afterUpdate = expectOrderResult(await getOrder(customer.token, order.id), 200);
      expect(afterUpdate).toEqual(order);

      const deleted = await call("DELETE", `/products/${product.id}`, { token: app.adminToken });
      expect(deleted.status, deleted.text).toBe(204);
      const afterDelete = expectOrderResult(await getOrder(customer.token, order.id), 200);
      expect(afterDelete).toEqual(order);
      expect(await listAll(customer.token)).toEqual([order]);
      // A new order for the deleted product is a 404.
      expectProblem(
        await postOrder(customer.token, { items: [{ product_id: product.id, quantity: 1 }] }),
        404,
        "not_found",
      );
    });
  });

  describe("who orders", () => {
    it("a customer orders as themselves, also when naming their own user_id", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      const own = await postOrder(customer.token, {
        items: [{ product_id: product.id, quantity: 1 }],
        user_id: customer.sub,
      });
      expect(expectOrderResult(own, 201).user_id).toBe(customer.sub);
    });

    it("a customer naming another user_id gets 403 and nothing changes", async () => {
      const product = await createProduct({ stock: 4 });
      const customer = await newCustomer();
      const victim = await newCustomer();
      const result = await postOrder(customer.token, {
        items: [{ product_id: product.id, quantity: 1 }],
        user_id: victim.sub,
      });
      expectProblem(result, 403, "permission_denied");
      expect(await stockOf(product.id)).toBe(4);
      expect(await listAll(customer.token)).toEqual([]);
      expect(await listAll(victim.token)).toEqual([]);
      expect(await listAll(app.adminToken, { user_id: victim.sub })).toEqual([]);
    });

    it("an admin orders for a user_id, and that user then reads and lists it", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      const result = await postOrder(app.adminToken, {
        items: [{ product_id: product.id, quantity: 1 }],
        user_id: customer.sub,
      });
      const order = expectOrderResult(result, 201);
      expect(order.user_id).toBe(customer.sub);
      expect(expectOrderResult(await getOrder(customer.token, order.id), 200)).toEqual(order);
      expect((await listAll(customer.token)).map((o) => o.id)).toEqual([order.id]);
    });

    it("without a valid token is 401 and nothing changes", async () => {
      const product = await createProduct({ stock: 3 });
      const body = { items: [{ product_id: product.id, quantity: 1 }] };
      expectProblem(await postOrder(undefined, body), 401, "unauthenticated");
      expectProblem(await postOrder("not-a-jwt", body), 401, "unauthenticated");
      expectProblem(await call("GET", "/orders"), 401, "unauthenticated");
      expectProblem(await call("GET", `/orders/${randomUUID()}`), 401, "unauthenticated");
      expectProblem(
        await call("PUT", `/orders/${randomUUID()}`, { json: { status: "paid" } }),
        401,
        "unauthenticated",
      );
      expect(await stockOf(product.id)).toBe(3);
    });
  });

  describe("read", () => {
    it("own order 200, another customer's 404 (same as unknown), admin reads any", async () => {
      const product = await createProduct();
      const owner = await newCustomer();
      const other = await newCustomer();
      const order = await placeOrder(owner.token, [{ product_id: product.id, quantity: 1 }]);
      expect(expectOrderResult(await getOrder(owner.token, order.id), 200)).toEqual(order);
      expect(expectOrderResult(await getOrder(app.adminToken, order.id), 200)).toEqual(order);
      const hidden = expectProblem(await getOrder(other.token, order.id), 404, "not_found");
      const unknown = expectProblem(await getOrder(other.token, randomUUID()), 404, "not_found");
      expect(hidden.title).toBe(unknown.title);
      expectProblem(await getOrder(app.adminToken, randomUUID()), 404, "not_found");
      expectProblem(await getOrder(app.adminToken, "not-an-id"), 404, "not_found");
    });
  });

  describe("list", () => {
    it("lists a customer's own orders newest first, page by page", async () => {
      const product = await createProduct({ stock: 50 });
      const customer = await newCustomer();
      const stranger = await newCustomer();
      const strangerOrder = await placeOrder(stranger.token, [{ product_id: product.id, quantity: 1 }]);
      const created: OrderJson[] = [];
      for (let quantity = 1; quantity <= 5; quantity++) {
        created.push(await placeOrder(customer.token, [{ product_id: product.id, quantity }]));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const newestFirst = [...created].reverse();

      const first = await api.listPage(customer.token, { page_size: "2" });
      expect(first.orders.map((o) => o.id)).toEqual(newestFirst.slice(0, 2).map((o) => o.id));
      expect(first.next_page_token).not.toBe("");
      const second = await api.listPage(customer.token, {
        page_size: "2",
        page_token: first.next_page_token,
      });
      expect(second.orders.map((o) => o.id)).toEqual(newestFirst.slice(2, 4).map((o) => o.id));
      const third = await api.listPage(customer.token, {
        page_size: "2",
        page_token: second.next_page_token,
      });
      expect(third.orders.map((o) => o.id)).toEqual([newestFirst[4]?.id]);
      expect(third.next_page_token).toBe("");

      const all = await listAll(customer.token);
      expect(all).toEqual(newestFirst);
      // A customer's user_id filter cannot widen what they see.
      const widened = await listAll(customer.token, { user_id: stranger.sub });
      expect(widened.map((o) => o.id)).toEqual(newestFirst.map((o) => o.id));
      expect((await listAll(stranger.token)).map((o) => o.id)).toEqual([strangerOrder.id]);

      // A page of exactly the remaining size ends with an empty token.
      const exact = await api.listPage(customer.token, { page_size: "5" });
      expect(exact.orders).toHaveLength(5);
      const rest =
        exact.next_page_token === ""
          ? []
          : (await api.listPage(customer.token, { page_size: "5", page_token: exact.next_page_token }))
              .orders;
      expect(rest).toEqual([]);
    });

    it("lets an admin see every user's orders and filter by user_id and status", async () => {
      const product = await createProduct({ stock: 50 });
      const alice = await newCustomer("alice");
      const bob = await newCustomer("bob");
      const a1 = await placeOrder(alice.token, [{ product_id: product.id, quantity: 1 }]);
      const b1 = await placeOrder(bob.token, [{ product_id: product.id, quantity: 1 }]);
      const a2 = await placeOrder(alice.token, [{ product_id: product.id, quantity: 1 }]);
      const a3 = await placeOrder(alice.token, [{ product_id: product.id, quantity: 1 }]);
      expect((await setStatus(app.adminToken, a2.id, "cancelled")).status).toBe(200);
      expect((await setStatus(app.adminToken, a3.id, "paid")).status).toBe(200);

      const ids = (orders: OrderJson[]) => orders.map((o) => o.id);
      expect(ids(await listAll(app.adminToken, { user_id: alice.sub }))).toEqual([a3.id, a2.id, a1.id]);
      expect(ids(await listAll(app.adminToken, { user_id: bob.sub }))).toEqual([b1.id]);
      expect(ids(await listAll(app.adminToken, { user_id: alice.sub, status: "cancelled" }))).toEqual([
        a2.id,
      ]);
      expect(ids(await listAll(app.adminToken, { user_id: alice.sub, status: "pending" }))).toEqual([a1.id]);
      expect(ids(await listAll(app.adminToken, { user_id: alice.sub, status: "delivered" }))).toEqual([]);
      // A customer's own status filter.
      expect(ids(await listAll(alice.token, { status: "paid" }))).toEqual([a3.id]);

      const everything = ids(await listAll(app.adminToken, { page_size: "100" }));
      for (const id of [a1.id, a2.id, a3.id, b1.id]) expect(everything).toContain(id);
      const cancelled = await listAll(app.adminToken, { status: "cancelled" });
      expect(cancelled.every((o) => o.status === "cancelled")).toBe(true);
      expect(ids(cancelled)).toContain(a2.id);
    });

    it("rejects an unknown status, a bad page_size and a foreign page_token with 400", async () => {
      const customer = await newCustomer();
      for (const query of [
        "status=lost",
        "status=PENDING",
        "page_size=0",
        "page_size=101",
        "page_size=abc",
        "page_size=-1",
        "page_size=2.5",
        "page_token=not-a-token",
      ]) {
        const result = await call("GET", `/orders?${query}`, { token: customer.token });
        expect(result.status, `${query}: ${result.text}`).toBe(400);
        expectProblem(result, 400, "invalid_argument");
      }
    });
  });

  describe("status changes", () => {
    it("an admin moves an order pending → paid → shipped → delivered", async () => {
      const product = await createProduct({ stock: 5 });
      const customer = await newCustomer();
      const order = await placeOrder(customer.token, [{ product_id: product.id, quantity: 2 }]);
      let previous = order;
      for (const status of ["paid", "shipped", "delivered"] as const) {
        const result = await setStatus(
          app.adminToken,
          order.id,
          status,
          status === "shipped" ? "PATCH" : "PUT",
        );
        const changed = expectOrderResult(result, 200);
        expect(changed).toMatchObject({
          id: order.id,
          status,
          items: order.items,
          total_cents: order.total_cents,
        });
        expect(Date.parse(changed.updated_at)).toBeGreaterThanOrEqual(Date.parse(previous.updated_at));
        expect(changed.created_at).toBe(order.created_at);
        expect(expectOrderResult(await getOrder(customer.token, order.id), 200)).toEqual(changed);
        previous = changed;
      }
      // Stock stays taken for a delivered order.
      expect(await stockOf(product.id)).toBe(3);
      // Delivered is final.
      for (const status of ["cancelled", "paid", "shipped", "pending"]) {
        expectProblem(await setStatus(app.adminToken, order.id, status), 409, "failed_precondition");
      }
      const again = expectOrderResult(await setStatus(app.adminToken, order.id, "delivered"), 200);
      expect(again).toEqual(previous);
      expect(await stockOf(product.id)).toBe(3);
    });

    it("refuses transitions the lifecycle does not allow with 409 failed_precondition", async () => {
      const product = await createProduct({ stock: 20 });
      const customer = await newCustomer();
      const pending = await placeOrder(customer.token, [{ product_id: product.id, quantity: 1 }]);
      for (const status of ["shipped", "delivered"]) {
        expectProblem(await setStatus(app.adminToken, pending.id, status), 409, "failed_precondition");
      }
      const paid = await placeOrder(customer.token, [{ product_id: product.id, quantity: 1 }]);
      expect((await setStatus(app.adminToken, paid.id, "paid")).status).toBe(200);
      for (const status of ["pending", "delivered"]) {
        expectProblem(await setStatus(app.adminToken, paid.id, status), 409, "failed_precondition");
      }
      const shipped = await placeOrder(customer.token, [{ product_id: product.id, quantity: 1 }]);
      expect((await setStatus(app.adminToken, shipped.id, "paid")).status).toBe(200);
      expect((await setStatus(app.adminToken, shipped.id, "shipped")).status).toBe(200);
      for (const status of ["pending", "paid", "cancelled"]) {
        expectProblem(await setStatus(app.adminToken, shipped.id, status), 409, "failed_precondition");
      }
      const cancelled = await placeOrder(customer.token, [{ product_id: product.id, quantity: 1 }]);
      expect((await setStatus(app.adminToken, cancelled.id, "cancelled")).status).toBe(200);
      for (const status of ["pending", "paid", "shipped", "delivered"]) {
        expectProblem(await setStatus(app.adminToken, cancelled.id, status), 409, "failed_precondition");
      }
      // Statuses unchanged by the refusals.
      expect((await getOrder(app.adminToken, pending.id)).body).toMatchObject({ status: "pending" });
      expect((await getOrder(app.adminToken, paid.id)).body).toMatchObject({ status: "paid" });
      expect((await getOrder(app.adminToken, shipped.id)).body).toMatchObject({ status: "shipped" });
      expect((await getOrder(app.adminToken, cancelled.id)).body).toMatchObject({ status: "cancelled" });
      // 4 orders of 1, one cancelled.
      expect(await stockOf(product.id)).toBe(17);
    });

    it("setting the current status again is a 200 no-op", async () => {
      const product = await createProduct({ stock: 5 });
      const customer = await newCustomer();
      const order = await placeOrder(customer.token, [{ product_id: product.id, quantity: 1 }]);
      expect(expectOrderResult(await setStatus(app.adminToken, order.id, "pending"), 200)).toEqual(order);
      expect(expectOrderResult(await setStatus(customer.token, order.id, "pending"), 200)).toEqual(order);
      const paid = expectOrderResult(await setStatus(app.adminToken, order.id, "paid"), 200);
      const paidAgain = expectOrderResult(await setStatus(app.adminToken, order.id, "paid"), 200);
      expect(paidAgain).toEqual(paid);
      expect(await stockOf(product.id)).toBe(4);
    });

    it("rejects a bad status body with 400 and an unknown order with 404", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      const order = await placeOrder(customer.token, [{ product_id: product.id, quantity: 1 }]);
      for (const json of [
        { status: "lost" },
        { status: "" },
        { status: 2 },
        {},
        { status: "ORDER_STATUS_PAID" },
      ]) {
        const result = await call("PUT", `/orders/${order.id}`, { token: app.adminToken, json });
        expectProblem(result, 400, "invalid_argument");
      }
      const malformed = await call("PUT", `/orders/${order.id}`, {
        token: app.adminToken,
        rawBody: "{status",
      });
      expectProblem(malformed, 400, "invalid_argument");
      expectProblem(await setStatus(app.adminToken, randomUUID(), "paid"), 404, "not_found");
      expectProblem(await setStatus(app.adminToken, "nope", "paid"), 404, "not_found");
      expect((await getOrder(customer.token, order.id)).body).toMatchObject({ status: "pending" });
    });

    it("a customer cancels their own pending order and its stock comes back", async () => {
      const product = await createProduct({ stock: 10 });
      const customer = await newCustomer();
      const order = await placeOrder(customer.token, [{ product_id: product.id, quantity: 4 }]);
      expect(await stockOf(product.id)).toBe(6);
      const cancelled = expectOrderResult(await setStatus(customer.token, order.id, "cancelled"), 200);
      expect(cancelled).toMatchObject({ id: order.id, status: "cancelled", items: order.items });
      expect(await stockOf(product.id)).toBe(10);
      // Again, by the customer and by an admin: a no-op that returns nothing more.
      expect(expectOrderResult(await setStatus(customer.token, order.id, "cancelled"), 200)).toEqual(
        cancelled,
      );
      expect(expectOrderResult(await setStatus(app.adminToken, order.id, "cancelled"), 200)).toEqual(
        cancelled,
      );
      expect(await stockOf(product.id)).toBe(10);
    });

    it("concurrent cancellations of one order return its stock exactly once", async () => {
      const product = await createProduct({ stock: 10 });
      const other = await createProduct({ stock: 10 });
      const customer = await newCustomer();
      const order = await placeOrder(customer.token, [
        { product_id: product.id, quantity: 3 },
        { product_id: other.id, quantity: 2 },
      ]);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, index) =>
          setStatus(index % 2 === 0 ? customer.token : app.adminToken, order.id, "cancelled"),
        ),
      );
      for (const result of results) expect(expectOrderResult(result, 200).status).toBe("cancelled");
      expect(await stockOf(product.id)).toBe(10);
      expect(await stockOf(other.id)).toBe(10);
    });

    it("an admin cancels a paid order and its stock comes back once", async () => {
      const product = await createProduct({ stock: 10 });
      const customer = await newCustomer();
      const order = await placeOrder(customer.token, [{ product_id: product.id, quantity: 3 }]);
      expect((await setStatus(app.adminToken, order.id, "paid")).status).toBe(200);
      expect(await stockOf(product.id)).toBe(7);
      expect(expectOrderResult(await setStatus(app.adminToken, order.id, "cancelled"), 200).status).toBe(
        "cancelled",
      );
      expect(await stockOf(product.id)).toBe(10);
      expect((await setStatus(app.adminToken, order.id, "cancelled")).status).toBe(200);
      expect(await stockOf(product.id)).toBe(10);
    });

    it("a customer may not pay, ship or deliver (403), nor cancel a paid order (403), nor touch another's (404)", async () => {
      const product = await createProduct({ stock: 10 });
      const customer = await newCustomer();
      const other = await newCustomer();
      const order = await placeOrder(customer.token, [{ product_id: product.id, quantity: 1 }]);
      for (const status of ["paid", "shipped", "delivered"]) {
        expectProblem(await setStatus(customer.token, order.id, status), 403, "permission_denied");
      }
      expectProblem(await setStatus(other.token, order.id, "cancelled"), 404, "not_found");
      expect((await getOrder(customer.token, order.id)).body).toMatchObject({ status: "pending" });

      expect((await setStatus(app.adminToken, order.id, "paid")).status).toBe(200);
      expectProblem(await setStatus(customer.token, order.id, "cancelled"), 403, "permission_denied");
      expect((await getOrder(customer.token, order.id)).body).toMatchObject({ status: "paid" });
      expect(await stockOf(product.id)).toBe(9);
    });
  });

  describe("bad input changes nothing", () => {
    it.each([
      ["empty items", { items: [] }],
      ["no items", {}],
      ["items not an array", { items: "abc" }],
      ["items an object", { items: { product_id: "x", quantity: 1 } }],
      ["quantity 0", { items: [{ product_id: "$P", quantity: 0 }] }],
      ["quantity -1", { items: [{ product_id: "$P", quantity: -1 }] }],
      ["quantity 1001", { items: [{ product_id: "$P", quantity: 1001 }] }],
      ["quantity 10001", { items: [{ product_id: "$P", quantity: 10001 }] }],
      ["quantity as a string", { items: [{ product_id: "$P", quantity: "2" }] }],
      ["quantity 1.5", { items: [{ product_id: "$P", quantity: 1.5 }] }],
      ["quantity missing", { items: [{ product_id: "$P" }] }],
      ["quantity null", { items: [{ product_id: "$P", quantity: null }] }],
      ["product_id a number", { items: [{ product_id: 12, quantity: 1 }] }],
      ["product_id missing", { items: [{ quantity: 1 }] }],
      ["user_id a number", { items: [{ product_id: "$P", quantity: 1 }], user_id: 5 }],
      [
        "a good line beside a bad one",
        {
          items: [
            { product_id: "$P", quantity: 1 },
            { product_id: "$P", quantity: 0 },
          ],
        },
      ],
      ["101 lines", { items: Array.from({ length: 101 }, () => ({ product_id: "$P", quantity: 1 })) }],
      ["a JSON array", [{ product_id: "$P", quantity: 1 }]],
      ["JSON null", null],
    ])("%s → 400", async (_name, template) => {
      const product = await createProduct({ stock: 500 });
      const customer = await newCustomer();
      const body = JSON.parse(JSON.stringify(template).replaceAll("$P", product.id));
      const result = await call("POST", "/orders", { token: customer.token, rawBody: JSON.stringify(body) });
      const problem = expectProblem(result, 400, "invalid_argument");
      expect(problem.detail).not.toBe("");
      expect(await stockOf(product.id)).toBe(500);
      expect(await listAll(customer.token)).toEqual([]);
    });

    it.each([
      ["malformed JSON", '{"items": ['],
      ["empty body", ""],
      ["not JSON at all", "items=1"],
    ])("%s → 400", async (_name, rawBody) => {
      const customer = await newCustomer();
      const result = await call("POST", "/orders", { token: customer.token, rawBody });
      expectProblem(result, 400, "invalid_argument");
      expect(await listAll(customer.token)).toEqual([]);
    });

    it("100 lines and a quantity of 1000 are the most allowed", async () => {
      const product = await createProduct({ stock: 1100 });
      const customer = await newCustomer();
      const order = await placeOrder(
        customer.token,
        Array.from({ length: 100 }, () => ({ product_id: product.id, quantity: 1 })),
      );
      expect(order.items).toEqual([expect.objectContaining({ product_id: product.id, quantity: 100 })]);
      expect(await stockOf(product.id)).toBe(1000);
      const max = await placeOrder(customer.token, [{ product_id: product.id, quantity: 1000 }]);
      expect(max.items[0]?.quantity).toBe(1000);
      expect(await stockOf(product.id)).toBe(0);
    });

    it("an unknown product is 404 and no stock is taken for the other line", async () => {
      const product = await createProduct({ stock: 10 });
      const customer = await newCustomer();
      const unknown = randomUUID();
      for (const items of [
        [
          { product_id: product.id, quantity: 2 },
          { product_id: unknown, quantity: 1 },
        ],
        [
          { product_id: unknown, quantity: 1 },
          { product_id: product.id, quantity: 2 },
        ],
      ]) {
        const problem = expectProblem(await postOrder(customer.token, { items }), 404, "not_found");
        expect(problem.detail).toContain(unknown);
      }
      expect(await stockOf(product.id)).toBe(10);
      expect(await listAll(customer.token)).toEqual([]);
    });

    it("a malformed product id is 404, and changes nothing", async () => {
      const product = await createProduct({ stock: 10 });
      const customer = await newCustomer();
      for (const bad of ["not-a-uuid", "", "../products", `${product.id}x`, "' or 1=1 --"]) {
        const result = await postOrder(customer.token, {
          items: [
            { product_id: product.id, quantity: 1 },
            { product_id: bad, quantity: 1 },
          ],
        });
        expect(result.status, `${JSON.stringify(bad)}: ${result.text}`).toBe(404);
        expectProblem(result, 404, "not_found");
      }
      expect(await stockOf(product.id)).toBe(10);
      expect(await listAll(customer.token)).toEqual([]);
    });

    it("insufficient stock is 409 failed_precondition and takes nothing for any line", async () => {
      const plenty = await createProduct({ stock: 10 });
      const scarce = await createProduct({ stock: 1 });
      const customer = await newCustomer();
      for (const items of [
        [
          { product_id: plenty.id, quantity: 3 },
          { product_id: scarce.id, quantity: 2 },
        ],
        [
          { product_id: scarce.id, quantity: 2 },
          { product_id: plenty.id, quantity: 3 },
        ],
      ]) {
        expectProblem(await postOrder(customer.token, { items }), 409, "failed_precondition");
      }
      // Merged lines count together: 1 + 1 of a stock of 1.
      expectProblem(
        await postOrder(customer.token, {
          items: [
            { product_id: scarce.id, quantity: 1 },
            { product_id: scarce.id, quantity: 1 },
          ],
        }),
        409,
        "failed_precondition",
      );
      expect(await stockOf(plenty.id)).toBe(10);
      expect(await stockOf(scarce.id)).toBe(1);
      expect(await listAll(customer.token)).toEqual([]);
      // Exactly the remaining stock still works, down to 0, and then one more is 409.
      await placeOrder(customer.token, [{ product_id: scarce.id, quantity: 1 }]);
      expect(await stockOf(scarce.id)).toBe(0);
      expectProblem(
        await postOrder(customer.token, { items: [{ product_id: scarce.id, quantity: 1 }] }),
        409,
        "failed_precondition",
      );
      expect(await stockOf(scarce.id)).toBe(0);
    });
  });

  describe("Idempotency-Key", () => {
    const withKey = (key: string) => ({ "idempotency-key": key });

    it("a repeat with the same body returns the first response and takes stock once", async () => {
      const product = await createProduct({ stock: 10 });
      const customer = await newCustomer();
      const body = { items: [{ product_id: product.id, quantity: 3 }] };
      const key = randomUUID();
      const first = expectOrderResult(await postOrder(customer.token, body, withKey(key)), 201);
      const second = await postOrder(customer.token, body, withKey(key));
      expect(expectOrderResult(second, 201)).toEqual(first);
      expect(second.headers.get("location")).toBe(`/orders/${first.id}`);
      const third = await postOrder(customer.token, body, withKey(key));
      expect(expectOrderResult(third, 201).id).toBe(first.id);
      expect(await stockOf(product.id)).toBe(7);
      expect((await listAll(customer.token)).map((o) => o.id)).toEqual([first.id]);
      // Without the key, the same body is a new order.
      const fresh = expectOrderResult(await postOrder(customer.token, body), 201);
      expect(fresh.id).not.toBe(first.id);
      expect(await stockOf(product.id)).toBe(4);
    });

    it("a repeat after the order was cancelled returns it and takes no stock again", async () => {
      const product = await createProduct({ stock: 10 });
      const customer = await newCustomer();
      const body = { items: [{ product_id: product.id, quantity: 3 }] };
      const key = randomUUID();
      const first = expectOrderResult(await postOrder(customer.token, body, withKey(key)), 201);
      expect((await setStatus(customer.token, first.id, "cancelled")).status).toBe(200);
      expect(await stockOf(product.id)).toBe(10);
      const repeat = expectOrderResult(await postOrder(customer.token, body, withKey(key)), 201);
      expect(repeat.id).toBe(first.id);
      expect(await stockOf(product.id)).toBe(10);
      expect((await listAll(customer.token)).map((o) => o.id)).toEqual([first.id]);
    });

    it("the same key with a different body is 422 and changes nothing", async () => {
      const product = await createProduct({ stock: 10 });
      const customer = await newCustomer();
      const key = randomUUID();
      const first = expectOrderResult(
        await postOrder(customer.token, { items: [{ product_id: product.id, quantity: 1 }] }, withKey(key)),
        201,
      );
      const other = await postOrder(
        customer.token,
        { items: [{ product_id: product.id, quantity: 2 }] },
        withKey(key),
      );
      expect(other.status, other.text).toBe(422);
      expect(other.headers.get("content-type")).toMatch(/^application\/problem\+json\b/);
      expect(other.body).toMatchObject({
        status: 422,
        type: expect.any(String),
        title: expect.any(String),
        code: expect.any(String),
      });
      expect(await stockOf(product.id)).toBe(9);
      expect((await listAll(customer.token)).map((o) => o.id)).toEqual([first.id]);
      // The first body still returns the first order.
      const repeat = await postOrder(
        customer.token,
        { items: [{ product_id: product.id, quantity: 1 }] },
        withKey(key),
      );
      expect(expectOrderResult(repeat, 201).id).toBe(first.id);
    });

    it("an empty key or one of 256 characters is 400 and changes nothing; 255 is fine", async () => {
      const product = await createProduct({ stock: 10 });
      const customer = await newCustomer();
      const body = { items: [{ product_id: product.id, quantity: 1 }] };
      expectProblem(await postOrder(customer.token, body, withKey("")), 400, "invalid_argument");
      expectProblem(await postOrder(customer.token, body, withKey("k".repeat(256))), 400, "invalid_argument");
      expect(await stockOf(product.id)).toBe(10);
      expect(await listAll(customer.token)).toEqual([]);
      const longest = "k".repeat(255);
      const first = expectOrderResult(await postOrder(customer.token, body, withKey(longest)), 201);
      const again = expectOrderResult(await postOrder(customer.token, body, withKey(longest)), 201);
      expect(again.id).toBe(first.id);
      expect(await stockOf(product.id)).toBe(9);
    });

    it("keys are per user: the same key from two customers makes two orders", async () => {
      const product = await createProduct({ stock: 10 });
      const alice = await newCustomer();
      const bob = await newCustomer();
      const body = { items: [{ product_id: product.id, quantity: 2 }] };
      const key = `shared-${randomUUID()}`;
      const a = expectOrderResult(await postOrder(alice.token, body, withKey(key)), 201);
      const b = expectOrderResult(await postOrder(bob.token, body, withKey(key)), 201);
      expect(a.id).not.toBe(b.id);
      expect(a.user_id).toBe(alice.sub);
      expect(b.user_id).toBe(bob.sub);
      expect(await stockOf(product.id)).toBe(6);
    });

    it("a failed first request (out of stock) takes nothing and does not poison the key", async () => {
      const product = await createProduct({ stock: 1 });
      const customer = await newCustomer();
      const body = { items: [{ product_id: product.id, quantity: 2 }] };
      const key = randomUUID();
      expectProblem(await postOrder(customer.token, body, withKey(key)), 409, "failed_precondition");
      expect(await stockOf(product.id)).toBe(1);
      expect(
        (await call("PUT", `/products/${product.id}`, { token: app.adminToken, json: { stock: 5 } })).status,
      ).toBe(200);
      const order = expectOrderResult(await postOrder(customer.token, body, withKey(key)), 201);
      expect(await stockOf(product.id)).toBe(3);
      expect((await listAll(customer.token)).map((o) => o.id)).toEqual([order.id]);
    });

    it("concurrent repeats: one order, stock taken once, the others 201 with it or 409 while it runs", async () => {
      // Many lines make the first request slow enough for the repeats to meet it still running;
      // the timing is not under the test's control, so it tries a few rounds. Embedded PGlite runs
      // one statement at a time and, on a warm app, tends to finish the first request before the
      // repeats look at the key (all 201 with the same order, which is also correct), so seeing a
      // 409 is required only on real PostgreSQL.
      const products = await Promise.all(Array.from({ length: 30 }, () => createProduct({ stock: 100 })));
      const body = { items: products.map((product) => ({ product_id: product.id, quantity: 1 })) };
      let sawInProgress = false;
      let rounds = 0;
      for (; rounds < 8 && !sawInProgress; rounds++) {
        const customer = await newCustomer();
        const key = randomUUID();
        const results: HttpResult[] = await Promise.all(
          Array.from({ length: 12 }, () => postOrder(customer.token, body, withKey(key))),
        );
        const created = results
          .filter((result) => result.status === 201)
          .map((result) => expectOrderResult(result, 201));
        expect(created.length).toBeGreaterThanOrEqual(1);
        expect(new Set(created.map((order) => order.id)).size).toBe(1);
        for (const result of results) {
          if (result.status === 201) continue;
          const problem = expectProblem(result, 409, "aborted");
          expect(problem.detail).not.toBe("");
          sawInProgress = true;
        }
        expect((await listAll(customer.token)).map((o) => o.id)).toEqual([created[0]?.id]);
      }
      for (const product of products.slice(0, 3)) expect(await stockOf(product.id)).toBe(100 - rounds);
      if (setup === "services")
        expect(sawInProgress, "no repeat ever met the first request still running").toBe(true);
    });
  });
});

describe.each(availableSetups())("orders over Connect (%s)", (setup) => {
  let app: TestApp;
  let client: ReturnType<typeof createClient<typeof OrderService>>;
  const api = orderApi(() => app);
  const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    app = await startTestApp(setup);
    client = createClient(OrderService, createConnectTransport({ baseUrl: app.baseUrl, httpVersion: "1.1" }));
  });
  afterAll(async () => {
    await app?.stop();
  });

  const rpcError = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(ConnectError);
    return error as ConnectError;
  };

  it("creates, reads and cancels like REST, with int64 money and the same order REST shows", async () => {
    const product = await api.createProduct({ name: "Kettle", price_cents: 2999, stock: 10 });
    const customer = await api.newCustomer();
    const { order } = await client.createOrder(
      { items: [{ productId: product.id, quantity: 2 }] },
      auth(customer.token),
    );
    expect(order).toBeDefined();
    if (order === undefined) return;
    expect(order).toMatchObject({
      userId: customer.sub,
      status: OrderStatus.PENDING,
      subtotalCents: 5998n,
      discountCents: 0n,
      totalCents: 5998n,
    });
    expect(order.items).toHaveLength(1);
    expect(order.items[0]).toMatchObject({
      productId: product.id,
      productName: "Kettle",
      quantity: 2,
      unitPriceCents: 2999n,
      discountCents: 0n,
      lineTotalCents: 5998n,
    });
    expect(await api.stockOf(product.id)).toBe(8);

    const rest = expectOrderResult(
      await api.call("GET", `/orders/${order.id}`, { token: customer.token }),
      200,
    );
    expect(rest.created_at).toBe(order.createdAt ? timestampDate(order.createdAt).toISOString() : "");
    expect(rest.total_cents).toBe(5998);

    const fetched = await client.getOrder({ id: order.id }, auth(customer.token));
    expect(fetched.order).toEqual(order);
    expect((await client.getOrder({ id: order.id }, auth(app.adminToken))).order).toEqual(order);

    const listed = await client.listOrders({}, auth(customer.token));
    expect(listed.orders.map((o) => o.id)).toEqual([order.id]);
    expect(listed.nextPageToken).toBe("");

    const cancelled = await client.updateOrderStatus(
      { id: order.id, status: OrderStatus.CANCELLED },
      auth(customer.token),
    );
    expect(cancelled.order?.status).toBe(OrderStatus.CANCELLED);
    expect(await api.stockOf(product.id)).toBe(10);
    await client.updateOrderStatus({ id: order.id, status: OrderStatus.CANCELLED }, auth(customer.token));
    expect(await api.stockOf(product.id)).toBe(10);
  });

  it("writes int64 money as strings in Connect JSON", async () => {
    const product = await api.createProduct({ price_cents: 1234, stock: 5 });
    const customer = await api.newCustomer();
    const response = await fetch(`${app.baseUrl}/ecommerce.orders.v1.OrderService/CreateOrder`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${customer.token}` },
      body: JSON.stringify({ items: [{ productId: product.id, quantity: 1 }] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { order: Record<string, unknown> };
    expect(body.order).toMatchObject({
      totalCents: "1234",
      subtotalCents: "1234",
      status: "ORDER_STATUS_PENDING",
    });
  });

  it("applies the same rules: auth, ownership, visibility, validation, stock, idempotency", async () => {
    const product = await api.createProduct({ stock: 3 });
    const customer = await api.newCustomer();
    const other = await api.newCustomer();
    const items = [{ productId: product.id, quantity: 1 }];

    expect((await rpcError(client.createOrder({ items }))).code).toBe(Code.Unauthenticated);
    expect((await rpcError(client.createOrder({ items }, auth("garbage")))).code).toBe(Code.Unauthenticated);
    expect((await rpcError(client.listOrders({}))).code).toBe(Code.Unauthenticated);
    expect(
      (await rpcError(client.createOrder({ items, userId: other.sub }, auth(customer.token)))).code,
    ).toBe(Code.PermissionDenied);
    expect(
      (
        await rpcError(
          client.createOrder({ items: [{ productId: product.id, quantity: 0 }] }, auth(customer.token)),
        )
      ).code,
    ).toBe(Code.InvalidArgument);
    expect(
      (
        await rpcError(
          client.createOrder({ items: [{ productId: product.id, quantity: 1001 }] }, auth(customer.token)),
        )
      ).code,
    ).toBe(Code.InvalidArgument);
    expect((await rpcError(client.createOrder({ items: [] }, auth(customer.token)))).code).toBe(
      Code.InvalidArgument,
    );
    expect(
      (
        await rpcError(
          client.createOrder({ items: [{ productId: "nope", quantity: 1 }] }, auth(customer.token)),
        )
      ).code,
    ).toBe(Code.NotFound);
    expect(
      (
        await rpcError(
          client.createOrder({ items: [{ productId: product.id, quantity: 4 }] }, auth(customer.token)),
        )
      ).code,
    ).toBe(Code.FailedPrecondition);
    expect(
      (await rpcError(client.createOrder({ items, idempotencyKey: "k".repeat(256) }, auth(customer.token))))
        .code,
    ).toBe(Code.InvalidArgument);
    expect(await api.stockOf(product.id)).toBe(3);

    const key = randomUUID();
    const first = await client.createOrder({ items, idempotencyKey: key }, auth(customer.token));
    const again = await client.createOrder({ items, idempotencyKey: key }, auth(customer.token));
    expect(again.order?.id).toBe(first.order?.id);
    expect(await api.stockOf(product.id)).toBe(2);
    const id = first.order?.id as string;

    expect((await rpcError(client.getOrder({ id }, auth(other.token)))).code).toBe(Code.NotFound);
    expect((await rpcError(client.getOrder({ id }))).code).toBe(Code.Unauthenticated);
    expect(
      (await rpcError(client.updateOrderStatus({ id, status: OrderStatus.PAID }, auth(customer.token)))).code,
    ).toBe(Code.PermissionDenied);
    expect(
      (await rpcError(client.updateOrderStatus({ id, status: OrderStatus.SHIPPED }, auth(app.adminToken))))
        .code,
    ).toBe(Code.FailedPrecondition);
    expect(
      (
        await rpcError(
          client.updateOrderStatus({ id, status: OrderStatus.UNSPECIFIED }, auth(app.adminToken)),
        )
      ).code,
    ).toBe(Code.InvalidArgument);
    expect(
      (
        await rpcError(
          client.listOrders({ status: OrderStatus.UNSPECIFIED, pageSize: 101 }, auth(customer.token)),
        )
      ).code,
    ).toBe(Code.InvalidArgument);
    const forUser = await client.createOrder({ items, userId: other.sub }, auth(app.adminToken));
    expect(forUser.order?.userId).toBe(other.sub);
    expect(
      (await client.listOrders({ userId: other.sub }, auth(app.adminToken))).orders.map((o) => o.id),
    ).toEqual([forUser.order?.id]);
    expect(await settledValue(() => api.stockOf(product.id), 100, 1000)).toBe(1);
  });
});
