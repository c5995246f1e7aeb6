/**
 * docs/api.md, "Limits", stock hoarding (OWASP OAT-021): a customer may hold MAX_PENDING_ORDERS pending
 * orders (the next is 429 resource_exhausted and takes no stock), and an order still pending after
 * PENDING_ORDER_TTL_SECONDS is cancelled by the system exactly once, its stock returned and its
 * order.status_changed event emitted so statistics follow: in one process, concurrently, across
 * replicas and across a crash.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningApp, startApp } from "../src/app.js";
import { loadConfig } from "../src/platform/config.js";
import { createLogger } from "../src/platform/logger.js";
import { type ChildApp, startChildApp } from "./support/child-app.js";
import {
  createServiceDeployment,
  eventsOnStream,
  type ServiceDeployment,
  serviceUrls,
  testToken,
} from "./support/deployment.js";
import { httpCall } from "./support/http-call.js";
import { eventually, type OrderJson, orderApi } from "./support/order-json.js";
import { expectProblem } from "./support/problem-assertions.js";
import { availableSetups, type InProcessSetup, startTestApp, type TestApp } from "./support/test-app.js";

const services = !Array.isArray(serviceUrls());
/** The order.status_changed events a deployment published (the stream keeps one per event id). */
const statusChanges = (deployment: ServiceDeployment) => () =>
  eventsOnStream(deployment.env.NATS_URL as string, deployment.namespace, "orders.order.status_changed");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(
  availableSetups().filter((setup): setup is InProcessSetup => setup === "embedded" || setup === "services"),
)("MAX_PENDING_ORDERS = 3 (%s)", (setup) => {
  let app: TestApp;
  const api = orderApi(() => app);

  beforeAll(async () => {
    app = await startTestApp(setup, { MAX_PENDING_ORDERS: "3" });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("refuses the next order with 429 and takes no stock for it; paying or cancelling frees a place", async () => {
    const product = await api.createProduct({ stock: 100 });
    const customer = await api.newCustomer();
    const order = () => api.postOrder(customer.token, { items: [{ product_id: product.id, quantity: 2 }] });
    const placed: OrderJson[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await order();
      expect(result.status, result.text).toBe(201);
      placed.push(result.body as OrderJson);
    }
    const refused = expectProblem(await order(), 429, "resource_exhausted");
    expect(refused).toMatchObject({ reason: "TOO_MANY_PENDING_ORDERS" });
    expect(await api.stockOf(product.id)).toBe(94);

    // Another customer is not affected.
    const other = await api.newCustomer();
    const theirs = await api.postOrder(other.token, { items: [{ product_id: product.id, quantity: 1 }] });
    expect(theirs.status, theirs.text).toBe(201);

    // The customer cancels one: a place is free again.
    expect((await api.setStatus(customer.token, placed[0]?.id as string, "cancelled")).status).toBe(200);
    expect((await order()).status).toBe(201);
    expectProblem(await order(), 429, "resource_exhausted");
    // An admin marks one paid: it no longer counts.
    expect((await api.setStatus(app.adminToken, placed[1]?.id as string, "paid")).status).toBe(200);
    expect((await order()).status).toBe(201);
    expectProblem(await order(), 429, "resource_exhausted");
    expect(await api.stockOf(product.id)).toBe(100 - 1 - 2 * 4);
  });
});

describe.skipIf(!services)("pending orders on the real services", () => {
  it("concurrent orders of one customer: exactly MAX_PENDING_ORDERS placed, no stock leaked", async () => {
    const app = await startTestApp("services", { MAX_PENDING_ORDERS: "5" });
    try {
      const api = orderApi(() => app);
      const product = await api.createProduct({ stock: 1000 });
      const customer = await api.newCustomer();
      const results = await Promise.all(
        Array.from({ length: 40 }, () =>
          api.postOrder(customer.token, { items: [{ product_id: product.id, quantity: 3 }] }),
        ),
      );
      const statuses = results.map((result) => result.status).sort();
      expect(statuses.filter((status) => status === 201)).toHaveLength(5);
      expect(statuses.filter((status) => status === 429)).toHaveLength(35);
      expect(await api.stockOf(product.id)).toBe(1000 - 5 * 3);
      expect(await api.listAll(customer.token)).toHaveLength(5);
    } finally {
      await app.stop();
    }
  });

  it("a customer refused at the limit does not take stock again on every retry", async () => {
    const app = await startTestApp("services", { MAX_PENDING_ORDERS: "2" });
    const sql = postgres(app.databaseUrl as string, { max: 1, onnotice: () => {} });
    try {
      const api = orderApi(() => app);
      const product = await api.createProduct({ stock: 100 });
      const customer = await api.newCustomer();
      const order = () => api.postOrder(customer.token, { items: [{ product_id: product.id, quantity: 1 }] });
      const reservations = async () => {
        const [row] = await sql`select count(*)::int as n from inventory.reservations`;
        return row?.n as number;
      };
      for (let i = 0; i < 2; i++) expect((await order()).status).toBe(201);
      // The first refusal is the strict one, when the order is stored: its stock was taken and
      // returned (one reservation, released).
      expectProblem(await order(), 429, "resource_exhausted");
      const afterFirstRefusal = await reservations();
      expect(afterFirstRefusal).toBe(3);
      for (let i = 0; i < 5; i++) expectProblem(await order(), 429, "resource_exhausted");
      expect(await reservations()).toBe(afterFirstRefusal);
      expect(await api.stockOf(product.id)).toBe(98);
      // Room again: the next order is placed.
      const [first] = await api.listAll(customer.token);
      expect((await api.setStatus(customer.token, first?.id as string, "cancelled")).status).toBe(200);
      expect((await order()).status).toBe(201);
    } finally {
      await sql.end();
      await app.stop();
    }
  });

  describe("expiry across two replicas", () => {
    let deployment: ServiceDeployment;
    const replicas: RunningApp[] = [];
    let sql: postgres.Sql;

    beforeAll(async () => {
      deployment = await createServiceDeployment();
      sql = postgres(deployment.databaseUrl, { max: 2, onnotice: () => {} });
      for (let i = 0; i < 2; i++) {
        const config = loadConfig({
          ...deployment.env,
          PORT: "0",
          HOST: "127.0.0.1",
          LOG_LEVEL: "silent",
          // Long enough for the 60 orders below to be placed (and one paid) before any expires,
          // on a loaded CI machine too (2 s was not: four had expired by the first check).
          PENDING_ORDER_TTL_SECONDS: "6",
        });
        replicas.push(await startApp(config, createLogger("silent")));
      }
    });
    afterAll(async () => {
      for (const replica of replicas) await replica.stop();
      await sql?.end();
      await deployment?.drop();
    });

    it("cancels each expired order exactly once, returns its stock once and statistics follow", async () => {
      const [first, second] = replicas.map((replica) => `http://127.0.0.1:${replica.port}`) as [
        string,
        string,
      ];
      const admin = await testToken("admin-1", "admin");
      const created = await httpCall(first, "POST", "/products", {
        token: admin,
        json: { name: "Hoarded", price_cents: 250, stock: 500 },
      });
      const productId = (created.body as { id: string }).id;
      const customers = await Promise.all(
        Array.from({ length: 6 }, (_, i) => testToken(`hoarder-${deployment.namespace}-${i}`, "customer")),
      );
      const orderIds: string[] = [];
      for (let i = 0; i < 60; i++) {
        const result = await httpCall(i % 2 === 0 ? first : second, "POST", "/orders", {
          token: customers[i % customers.length],
          json: { items: [{ product_id: productId, quantity: 2 }] },
        });
        expect(result.status, result.text).toBe(201);
        orderIds.push((result.body as OrderJson).id);
      }
      // One is paid before its time is up: it must stay.
      const paid = orderIds.pop() as string;
      expect(
        (await httpCall(first, "PUT", `/orders/${paid}`, { token: admin, json: { status: "paid" } })).status,
      ).toBe(200);
      const stockOf = async () =>
        ((await httpCall(second, "GET", `/products/${productId}`)).body as { stock: number }).stock;
      expect(await stockOf()).toBe(500 - 60 * 2);

      expect(await eventually(stockOf, 500 - 2, 15_000)).toBe(500 - 2);
      const statuses = await sql<{ status: string; n: number }[]>`
        select status, count(*)::int as n from orders.orders group by status order by status`;
      expect(statuses).toEqual([
        { status: "cancelled", n: 59 },
        { status: "paid", n: 1 },
      ]);
      // One order.status_changed event per cancellation, whichever replica made it.
      expect(await eventually(statusChanges(deployment), 59 + 1, 10_000)).toBe(59 + 1);
      const [held] = await sql<{ n: number }[]>`
        select count(*)::int as n from orders.pending_counts where pending <> 0`;
      expect(held?.n).toBe(0);
      // Statistics see the cancellations (events relayed through NATS).
      const stats = async () =>
        (
          (await httpCall(first, "GET", "/stats/user", { token: admin })).body as {
            total_orders: number;
            revenue_cents: number;
          }
        ).revenue_cents;
      expect(await eventually(stats, 2 * 250, 10_000)).toBe(2 * 250);
      await sleep(0);
    }, 60_000);
  });

  it("a process killed mid-expiry: another finishes, each order cancelled once, all stock back", async () => {
    const deployment = await createServiceDeployment();
    const sql = postgres(deployment.databaseUrl, { max: 2, onnotice: () => {} });
    const children: ChildApp[] = [];
    try {
      const start = async (ttlSeconds: string) => {
        const child = await startChildApp({
          ...deployment.env,
          PORT: "0",
          HOST: "127.0.0.1",
          PENDING_ORDER_TTL_SECONDS: ttlSeconds,
        });
        children.push(child);
        return child;
      };
      const placing = await start("3600");
      const admin = await testToken("admin-1", "admin");
      const created = await httpCall(placing.url, "POST", "/products", {
        token: admin,
        json: { name: "Crash hoarded", price_cents: 100, stock: 10_000 },
      });
      const productId = (created.body as { id: string }).id;
      const customers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => testToken(`crash-${deployment.namespace}-${i}`, "customer")),
      );
      const results = await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          httpCall(placing.url, "POST", "/orders", {
            token: customers[i % customers.length],
            json: { items: [{ product_id: productId, quantity: 1 + (i % 3) }] },
          }),
        ),
      );
      expect(results.every((result) => result.status === 201)).toBe(true);
      await placing.stop();
      await sleep(1_100);

      // Every order is now past a 1 s TTL: this process starts expiring them and is killed.
      const doomed = await start("1");
      await sleep(600);
      await doomed.stop("SIGKILL");
      const [midway] = await sql<{ n: number }[]>`
        select count(*)::int as n from orders.orders where status = 'cancelled'`;

      const survivor = await start("1");
      const stockOf = async () =>
        ((await httpCall(survivor.url, "GET", `/products/${productId}`)).body as { stock: number }).stock;
      expect(await eventually(stockOf, 10_000, 20_000)).toBe(10_000);
      const [cancelled] = await sql<{ n: number }[]>`
        select count(*)::int as n from orders.orders where status = 'cancelled'`;
      expect(cancelled?.n).toBe(150);
      expect(await eventually(statusChanges(deployment), 150, 10_000)).toBe(150);
      console.log(
        `pending-order expiry killed after cancelling ${midway?.n} of 150; the survivor did the rest`,
      );
    } finally {
      for (const child of children) await child.stop("SIGKILL");
      await sql.end();
      await deployment.drop();
    }
  }, 90_000);
});
