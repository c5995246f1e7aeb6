/**
 * docs/api.md, "Limits", deadlines: a request held up by a slow statement or by a lock another session
 * holds ends with 504 deadline_exceeded, on REST and Connect, and leaves nothing half done: no
 * order, no stock held. Run on the real PostgreSQL (statement and lock timeouts are PostgreSQL
 * settings), with RPC_TIMEOUT_MS = 1 s, so a statement gets 500 ms and a lock wait 250 ms.
 */
import { Code } from "@connectrpc/connect";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderService } from "../src/gen/ecommerce/orders/v1/order_service_pb.js";
import { bearer, connectClient, connectError } from "./support/connect-call.js";
import { serviceUrls } from "./support/deployment.js";
import { type HttpCallOptions, httpCall } from "./support/http-call.js";
import { expectProblem } from "./support/problem-assertions.js";
import { startTestApp, type TestApp } from "./support/test-app.js";

const services = !Array.isArray(serviceUrls());
const RPC_TIMEOUT_MS = 1_000;

describe.skipIf(!services)("deadlines (services, RPC_TIMEOUT_MS = 1 s)", () => {
  let app: TestApp;
  let sql: postgres.Sql;
  let productId: string;

  const call = (method: string, path: string, options?: HttpCallOptions) =>
    httpCall(app.baseUrl, method, path, options);
  const order = () =>
    call("POST", "/orders", {
      token: app.customerToken,
      json: { items: [{ product_id: productId, quantity: 3 }] },
    });
  /** What the attempt could have left behind: orders, held stock, reservations still held. */
  const leftovers = async () => {
    const [orders] = await sql`select count(*)::int as n from orders.orders`;
    const [held] = await sql`select count(*)::int as n from inventory.reservations where status = 'reserved'`;
    const [product] = await sql`select stock from inventory.products where id = ${productId}`;
    return { orders: orders?.n, reservationsHeld: held?.n, stock: product?.stock };
  };

  beforeAll(async () => {
    app = await startTestApp("services", { RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS) });
    sql = postgres(app.databaseUrl as string, { max: 2, onnotice: () => {} });
    const created = await call("POST", "/products", {
      token: app.adminToken,
      json: { name: "Slow seller", price_cents: 500, stock: 10 },
    });
    expect(created.status, created.text).toBe(201);
    productId = (created.body as { id: string }).id;
  });
  afterAll(async () => {
    await sql?.end();
    await app?.stop();
  });

  it("a slow statement: 504 deadline_exceeded within the deadline, no order, the stock back", async () => {
    await sql.unsafe(`
      create function orders.slow_insert() returns trigger language plpgsql as
        $$ begin perform pg_sleep(3); return new; end $$;
      create trigger slow_insert before insert on orders.orders
        for each row execute function orders.slow_insert();`);
    try {
      const started = Date.now();
      const result = await order();
      expect(Date.now() - started).toBeLessThan(RPC_TIMEOUT_MS + 500);
      expectProblem(result, 504, "deadline_exceeded");
      expect(await leftovers()).toEqual({ orders: 0, reservationsHeld: 0, stock: 10 });

      const connect = await connectError(
        connectClient(OrderService, app).createOrder(
          { items: [{ productId, quantity: 2 }] },
          bearer(app.customerToken),
        ),
      );
      expect(connect.code).toBe(Code.DeadlineExceeded);
      expect(await leftovers()).toEqual({ orders: 0, reservationsHeld: 0, stock: 10 });
    } finally {
      await sql.unsafe("drop trigger slow_insert on orders.orders; drop function orders.slow_insert();");
    }
  });

  it("a lock held by another session: 504, no order, the stock untouched", async () => {
    const holder = await sql.reserve();
    try {
      await holder`begin`;
      await holder`select * from inventory.products where id = ${productId} for update`;
      const started = Date.now();
      const result = await order();
      expect(Date.now() - started).toBeLessThan(RPC_TIMEOUT_MS + 500);
      expectProblem(result, 504, "deadline_exceeded");
    } finally {
      await holder`rollback`;
      holder.release();
    }
    expect(await leftovers()).toEqual({ orders: 0, reservationsHeld: 0, stock: 10 });
  });

  it("once the obstacle is gone the same order goes through", async () => {
    const result = await order();
    expect(result.status, result.text).toBe(201);
    expect(await leftovers()).toMatchObject({ orders: 1, stock: 7 });
  });
});
