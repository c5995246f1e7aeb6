/**
 * Statistics end to end (docs/api.md "Statistics", issue 4): the projection fed by order and product
 * events must equal the truth computed from the orders and products APIs, over REST and Connect,
 * with the documented authorization, and follow a new order within a second.
 */
import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StatisticsService } from "../src/gen/ecommerce/statistics/v1/statistics_service_pb.js";
import { bearer, connectClient, connectError } from "./support/connect-call.js";
import { type OrderJson, orderApi } from "./support/order-json.js";
import { expectProblem } from "./support/problem-assertions.js";
import {
  countProducts,
  expectStoreStats,
  expectUserOrderStats,
  pollUntil,
  type StoreStatsJson,
  sameJson,
  storeStatsTruth,
  type UserOrderStatsJson,
  userStatsTruth,
  zeroHours,
} from "./support/statistics-json.js";
import { availableSetups, startTestApp, type TestApp } from "./support/test-app.js";

const CONVERGE_MS = 5000;

describe.each(availableSetups())("statistics (%s)", (setup) => {
  let app: TestApp;
  const api = orderApi(() => app);
  const { call } = api;

  beforeAll(async () => {
    app = await startTestApp(setup);
  });

  afterAll(async () => {
    await app?.stop();
  });

  const newUserId = () => `stats-user-${randomUUID()}`;

  async function readUserStats(userId: string, token = app.adminToken): Promise<UserOrderStatsJson> {
    return expectUserOrderStats(
      await call("GET", `/stats/user-orders/${encodeURIComponent(userId)}`, { token }),
    );
  }

  async function readStoreStats(): Promise<StoreStatsJson> {
    return expectStoreStats(await call("GET", "/stats/user", { token: app.adminToken }));
  }

  async function userTruth(userId: string): Promise<UserOrderStatsJson> {
    return userStatsTruth(userId, await api.listAll(app.adminToken, { user_id: userId, page_size: "7" }));
  }

  async function storeTruth(): Promise<StoreStatsJson> {
    const orders = await api.listAll(app.adminToken, { page_size: "100" });
    return storeStatsTruth(orders, await countProducts((path) => call("GET", path)));
  }

  /** Polls the user's statistics until they equal `expected`; asserts with a diff if they never do. */
  async function expectUserStatsToBecome(userId: string, expected: UserOrderStatsJson): Promise<void> {
    const seen = await pollUntil(
      () => readUserStats(userId),
      (value) => sameJson(value, expected),
      { timeoutMs: CONVERGE_MS },
    );
    expect(seen.value).toEqual(expected);
  }

  async function expectStoreStatsToBecome(expected: StoreStatsJson): Promise<StoreStatsJson> {
    const seen = await pollUntil(readStoreStats, (value) => sameJson(value, expected), {
      timeoutMs: CONVERGE_MS,
    });
    expect(seen.value).toEqual(expected);
    return seen.value;
  }

  async function placeOrder(userId: string, items: { product_id: string; quantity: number }[]) {
    const token = await app.token(userId, "customer");
    const result = await api.postOrder(token, { items });
    expect(result.status, result.text).toBe(201);
    return { order: result.body as OrderJson, token };
  }

  async function moveTo(orderId: string, status: string, token = app.adminToken): Promise<void> {
    const result = await api.setStatus(token, orderId, status);
    expect(result.status, result.text).toBe(200);
    expect((result.body as OrderJson).status).toBe(status);
  }

  /**
   * Two customers with orders in every interesting state: pending, paid, shipped, cancelled from
   * pending (by the customer), cancelled after payment (by an admin).
   */
  async function seedTwoCustomers(): Promise<{ alice: string; bob: string }> {
    const p1 = await api.createProduct({ price_cents: 1250, stock: 1000 });
    const p2 = await api.createProduct({ price_cents: 799, stock: 1000 });
    const alice = newUserId();
    const bob = newUserId();

    await placeOrder(alice, [{ product_id: p1.id, quantity: 2 }]); // stays pending
    const a2 = await placeOrder(alice, [
      { product_id: p2.id, quantity: 3 },
      { product_id: p1.id, quantity: 1 },
    ]);
    await moveTo(a2.order.id, "paid");
    const a3 = await placeOrder(alice, [{ product_id: p2.id, quantity: 1 }]);
    await moveTo(a3.order.id, "cancelled", a3.token); // customer cancels own pending order
    const a4 = await placeOrder(alice, [{ product_id: p1.id, quantity: 4 }]);
    await moveTo(a4.order.id, "paid");
    await moveTo(a4.order.id, "cancelled"); // paid → cancelled by an admin
    // An order an admin places on alice's behalf counts for alice.
    const byAdmin = await api.postOrder(app.adminToken, {
      user_id: alice,
      items: [{ product_id: p2.id, quantity: 2 }],
    });
    expect(byAdmin.status, byAdmin.text).toBe(201);
    expect((byAdmin.body as OrderJson).user_id).toBe(alice);

    const b1 = await placeOrder(bob, [{ product_id: p1.id, quantity: 1 }]);
    await moveTo(b1.order.id, "paid");
    await moveTo(b1.order.id, "shipped");
    await placeOrder(bob, [{ product_id: p2.id, quantity: 5 }]); // stays pending
    const b3 = await placeOrder(bob, [{ product_id: p1.id, quantity: 2 }]);
    await moveTo(b3.order.id, "cancelled");
    // Setting the current status again is a no-op: must not count a second cancellation.
    await moveTo(b3.order.id, "cancelled");
    return { alice, bob };
  }

  describe("user order statistics equal the truth from the orders API", () => {
    it("counts every order, cancelled ones, money of non-cancelled orders and UTC hours", async () => {
      const { alice, bob } = await seedTwoCustomers();

      const aliceTruth = await userTruth(alice);
      const bobTruth = await userTruth(bob);
      // The seed is what we think it is (so the comparison below is not vacuous).
      expect(aliceTruth.total_orders).toBe(5);
      expect(aliceTruth.cancelled_orders).toBe(2);
      expect(aliceTruth.total_spent_cents).toBe(2 * 1250 + (3 * 799 + 1250) + 2 * 799);
      expect(bobTruth.total_orders).toBe(3);
      expect(bobTruth.cancelled_orders).toBe(1);
      expect(bobTruth.total_spent_cents).toBe(1250 + 5 * 799);

      await expectUserStatsToBecome(alice, aliceTruth);
      await expectUserStatsToBecome(bob, bobTruth);

      // Settled: a later read still says the same (nothing is double-applied late).
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await readUserStats(alice)).toEqual(aliceTruth);
      expect(await readUserStats(bob)).toEqual(bobTruth);
    });

    it("reads all zeros and 24 zero buckets for a user with no orders", async () => {
      const nobody = newUserId();
      expect(await readUserStats(nobody)).toEqual({
        user_id: nobody,
        total_orders: 0,
        orders_by_hour: zeroHours(),
        cancelled_orders: 0,
        total_spent_cents: 0,
      });
      // The same for the user reading their own.
      const own = await readUserStats(nobody, await app.token(nobody, "customer"));
      expect(own.total_orders).toBe(0);
      expect(own.orders_by_hour).toEqual(zeroHours());
    });
  });

  describe("store statistics", () => {
    it("equal the truth: users with an order, all orders, revenue of non-cancelled orders, live products", async () => {
      await seedTwoCustomers();
      const truth = await storeTruth();
      expect(truth.total_users).toBeGreaterThanOrEqual(2);
      expect(truth.total_products).toBeGreaterThanOrEqual(2);
      await expectStoreStatsToBecome(truth);
    });

    it("a user with an order counts once however many orders they place; a user without orders not at all", async () => {
      const before = await expectStoreStatsToBecome(await storeTruth());
      const product = await api.createProduct({ price_cents: 300, stock: 100 });
      const user = newUserId();
      await placeOrder(user, [{ product_id: product.id, quantity: 1 }]);
      await placeOrder(user, [{ product_id: product.id, quantity: 2 }]);
      const cancelled = await placeOrder(user, [{ product_id: product.id, quantity: 3 }]);
      await moveTo(cancelled.order.id, "cancelled");
      await readUserStats(newUserId()); // reading a stranger's statistics creates no user
      const after = await expectStoreStatsToBecome(await storeTruth());
      expect(after).toEqual({
        total_users: before.total_users + 1,
        total_products: before.total_products + 1,
        total_orders: before.total_orders + 3,
        revenue_cents: before.revenue_cents + 300 + 600,
      });
    });

    it("total_products follows creates and deletes", async () => {
      const baseline = await expectStoreStatsToBecome(await storeTruth());
      const a = await api.createProduct();
      const b = await api.createProduct();
      const c = await api.createProduct();
      const created = await expectStoreStatsToBecome(await storeTruth());
      expect(created.total_products).toBe(baseline.total_products + 3);

      const removed = await call("DELETE", `/products/${b.id}`, { token: app.adminToken });
      expect(removed.status, removed.text).toBe(204);
      const afterOne = await expectStoreStatsToBecome(await storeTruth());
      expect(afterOne.total_products).toBe(baseline.total_products + 2);

      for (const product of [a, c]) {
        const result = await call("DELETE", `/products/${product.id}`, { token: app.adminToken });
        expect(result.status, result.text).toBe(204);
      }
      const afterDeletes = await expectStoreStatsToBecome(await storeTruth());
      expect(afterDeletes.total_products).toBe(baseline.total_products);
      // Deleting products changes nothing else.
      expect({ ...afterDeletes, total_products: 0 }).toEqual({ ...baseline, total_products: 0 });
    });

    it("deleting a product that was ordered keeps the orders' figures", async () => {
      const product = await api.createProduct({ price_cents: 450, stock: 10 });
      const user = newUserId();
      await placeOrder(user, [{ product_id: product.id, quantity: 2 }]);
      const truth = await userTruth(user);
      await expectUserStatsToBecome(user, truth);
      const removed = await call("DELETE", `/products/${product.id}`, { token: app.adminToken });
      expect(removed.status, removed.text).toBe(204);
      await expectStoreStatsToBecome(await storeTruth());
      expect(await readUserStats(user)).toEqual(truth);
      expect(truth.total_spent_cents).toBe(900);
    });
  });

  describe("authorization", () => {
    it("a customer reads their own statistics", async () => {
      const user = newUserId();
      const result = await call("GET", `/stats/user-orders/${user}`, {
        token: await app.token(user, "customer"),
      });
      expect(expectUserOrderStats(result).user_id).toBe(user);
    });

    it("another user's statistics are 403 for a customer", async () => {
      const me = newUserId();
      const other = newUserId();
      const result = await call("GET", `/stats/user-orders/${other}`, {
        token: await app.token(me, "customer"),
      });
      expectProblem(result, 403, "permission_denied");
      expect(result.text).not.toContain("total_orders");
    });

    it("store statistics are 403 for a customer", async () => {
      const result = await call("GET", "/stats/user", { token: await app.token(newUserId(), "customer") });
      expectProblem(result, 403, "permission_denied");
    });

    it("no token is 401 on both routes", async () => {
      expectProblem(await call("GET", `/stats/user-orders/${newUserId()}`), 401, "unauthenticated");
      expectProblem(await call("GET", "/stats/user"), 401, "unauthenticated");
    });

    it("a bad token is 401", async () => {
      const result = await call("GET", "/stats/user", { token: "not-a-jwt" });
      expectProblem(result, 401, "unauthenticated");
    });

    it("an admin reads anyone's statistics", async () => {
      const product = await api.createProduct({ price_cents: 222 });
      const user = newUserId();
      await placeOrder(user, [{ product_id: product.id, quantity: 1 }]);
      const adminView = await pollUntil(
        () => readUserStats(user, app.adminToken),
        (value) => value.total_orders === 1,
        { timeoutMs: CONVERGE_MS },
      );
      expect(adminView.value).toMatchObject({ user_id: user, total_orders: 1, total_spent_cents: 222 });
      // A second admin identity sees the same figures.
      expect(await readUserStats(user, await app.token(`admin-${randomUUID()}`, "admin"))).toEqual(
        adminView.value,
      );
    });
  });

  describe("over Connect", () => {
    const client = () => connectClient(StatisticsService, app);

    it("GetUserOrderStatistics returns the REST figures (int64 as bigint) to the customer", async () => {
      const { alice } = await seedTwoCustomers();
      const truth = await userTruth(alice);
      await expectUserStatsToBecome(alice, truth);

      const response = await client().getUserOrderStatistics(
        { userId: alice },
        bearer(await app.token(alice, "customer")),
      );
      expect(typeof response.totalSpentCents).toBe("bigint");
      expect({
        userId: response.userId,
        totalOrders: response.totalOrders,
        cancelledOrders: response.cancelledOrders,
        totalSpentCents: response.totalSpentCents,
        ordersByHour: response.ordersByHour.map(({ hour, count }) => ({ hour, count })),
      }).toEqual({
        userId: alice,
        totalOrders: truth.total_orders,
        cancelledOrders: truth.cancelled_orders,
        totalSpentCents: BigInt(truth.total_spent_cents),
        ordersByHour: truth.orders_by_hour,
      });
    });

    it("GetUserOrderStatistics of another user is PermissionDenied; no token is Unauthenticated", async () => {
      const me = await app.token(newUserId(), "customer");
      const error = await connectError(client().getUserOrderStatistics({ userId: newUserId() }, bearer(me)));
      expect(error.code).toBe(Code.PermissionDenied);
      const anonymous = await connectError(client().getUserOrderStatistics({ userId: newUserId() }));
      expect(anonymous.code).toBe(Code.Unauthenticated);
    });

    it("orders by hour count every order by its UTC hour, store-wide; the RPC equals REST; customers 403", async () => {
      await seedTwoCustomers();
      const orders = await api.listAll(app.adminToken, { page_size: "100" });
      const truth = Array.from({ length: 24 }, (_, hour) => ({
        hour,
        count: orders.filter((order) => new Date(order.created_at).getUTCHours() === hour).length,
      }));
      const seen = await pollUntil(
        async () => JSON.parse((await call("GET", "/stats/orders-by-hour", { token: app.adminToken })).text),
        (value) => JSON.stringify(value.orders_by_hour) === JSON.stringify(truth),
        { timeoutMs: CONVERGE_MS, intervalMs: 50 },
      );
      expect(seen.value).toEqual({ orders_by_hour: truth });
      const response = await client().getOrdersByHour({}, bearer(app.adminToken));
      expect(response.ordersByHour.map(({ hour, count }) => ({ hour, count }))).toEqual(truth);
      const customer = await app.token(newUserId(), "customer");
      expectProblem(
        await call("GET", "/stats/orders-by-hour", { token: customer }),
        403,
        "permission_denied",
      );
      expect((await connectError(client().getOrdersByHour({}, bearer(customer)))).code).toBe(
        Code.PermissionDenied,
      );
    });

    it("GetUserStatistics equals REST for an admin and is PermissionDenied for a customer", async () => {
      const rest = await expectStoreStatsToBecome(await storeTruth());
      const response = await client().getUserStatistics({}, bearer(app.adminToken));
      expect(typeof response.revenueCents).toBe("bigint");
      expect({
        totalUsers: response.totalUsers,
        totalProducts: response.totalProducts,
        totalOrders: response.totalOrders,
        revenueCents: response.revenueCents,
      }).toEqual({
        totalUsers: rest.total_users,
        totalProducts: rest.total_products,
        totalOrders: rest.total_orders,
        revenueCents: BigInt(rest.revenue_cents),
      });
      const denied = await connectError(
        client().getUserStatistics({}, bearer(await app.token(newUserId(), "customer"))),
      );
      expect(denied.code).toBe(Code.PermissionDenied);
    });
  });

  describe("freshness", () => {
    it("a new order shows in the user's statistics within a second", async () => {
      const product = await api.createProduct({ price_cents: 1999, stock: 100 });
      const user = newUserId();
      const token = await app.token(user, "customer");
      expect((await readUserStats(user, token)).total_orders).toBe(0);

      const result = await api.postOrder(token, { items: [{ product_id: product.id, quantity: 1 }] });
      expect(result.status, result.text).toBe(201);
      const seen = await pollUntil(
        () => readUserStats(user, token),
        (value) => value.total_orders === 1 && value.total_spent_cents === 1999,
        { timeoutMs: CONVERGE_MS, intervalMs: 50 },
      );
      expect(seen.matched, `never converged: ${JSON.stringify(seen.value)}`).toBe(true);
      expect(seen.elapsedMs, `converged after ${Math.round(seen.elapsedMs)} ms`).toBeLessThan(1000);
    });

    it("a cancellation shows within a second", async () => {
      const product = await api.createProduct({ price_cents: 500, stock: 100 });
      const user = newUserId();
      const { order } = await placeOrder(user, [{ product_id: product.id, quantity: 1 }]);
      await expectUserStatsToBecome(user, await userTruth(user));

      await moveTo(order.id, "cancelled");
      const seen = await pollUntil(
        () => readUserStats(user),
        (value) => value.cancelled_orders === 1 && value.total_spent_cents === 0,
        { timeoutMs: CONVERGE_MS, intervalMs: 50 },
      );
      expect(seen.matched, `never converged: ${JSON.stringify(seen.value)}`).toBe(true);
      expect(seen.elapsedMs, `converged after ${Math.round(seen.elapsedMs)} ms`).toBeLessThan(1000);
    });
  });
});
