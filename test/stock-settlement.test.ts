/**
 * What the orders module owes inventory survives a crash between the order change and the call
 * that carries it out. The crash is reproduced by putting the database in the state the crash
 * leaves (the order change committed with its stock command, the call never made); the settlement
 * job must then finish the work before — or compensate after — the reservation expires.
 * (test/split-orders-kill.test.ts does it with a real SIGKILL in the split topology.)
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, expectOrderResult, orderApi } from "./support/order-json.js";
import { availableSetups, startTestApp, type TestApp } from "./support/test-app.js";

const hasServices = availableSetups().includes("services");

describe.skipIf(!hasServices)("stock settlement after a crash (services)", () => {
  let app: TestApp;
  let sql: postgres.Sql;
  const api = orderApi(() => app);
  const reservationStatus = async (orderId: string) =>
    (await sql`select status from inventory.reservations where order_id = ${orderId}`)[0]?.status;
  const orderStatus = async (orderId: string, token: string) =>
    ((await api.call("GET", `/orders/${orderId}`, { token })).body as { status: string }).status;

  beforeAll(async () => {
    app = await startTestApp("services", { RESERVATION_TIMEOUT_SECONDS: "2" });
    sql = postgres(app.databaseUrl as string, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
    await app?.stop();
  });

  it("an order stored but never confirmed keeps its stock past the reservation timeout", async () => {
    const product = await api.createProduct({ stock: 10 });
    const customer = await api.newCustomer();
    const order = expectOrderResult(
      await api.postOrder(customer.token, { items: [{ product_id: product.id, quantity: 3 }] }),
      201,
    );
    // The state a crash right after storing the order leaves: reservation unconfirmed, command owed.
    await sql`update inventory.reservations set status = 'reserved', expires_at = now() + interval '2 seconds'
      where order_id = ${order.id}`;
    await sql`insert into orders.stock_commands (order_id, action, due_at) values (${order.id}, 'confirm', now())`;

    expect(await eventually(() => reservationStatus(order.id), "confirmed", 5000)).toBe("confirmed");
    await new Promise((resolve) => setTimeout(resolve, 3000)); // past the reservation timeout
    expect(await reservationStatus(order.id)).toBe("confirmed");
    expect(await api.stockOf(product.id)).toBe(7);
    expect(await orderStatus(order.id, customer.token)).toBe("pending");
    expect(
      (await sql`select count(*)::int as n from orders.stock_commands where order_id = ${order.id}`)[0]?.n,
    ).toBe(0);
  });

  it("an order whose stock lapsed before anyone confirmed it is cancelled, and keeps no stock", async () => {
    const product = await api.createProduct({ stock: 10 });
    const customer = await api.newCustomer();
    const order = expectOrderResult(
      await api.postOrder(customer.token, { items: [{ product_id: product.id, quantity: 4 }] }),
      201,
    );
    // The orders process died after storing the order and stayed down past the timeout: the
    // reservation expires and its stock goes back before the confirmation is attempted.
    await sql`update inventory.reservations set status = 'reserved', expires_at = now() where order_id = ${order.id}`;
    expect(await eventually(() => api.stockOf(product.id), 10, 5000)).toBe(10);
    await sql`insert into orders.stock_commands (order_id, action, due_at) values (${order.id}, 'confirm', now())`;

    expect(await eventually(() => orderStatus(order.id, customer.token), "cancelled", 5000)).toBe(
      "cancelled",
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await api.stockOf(product.id)).toBe(10);
  });

  it("a cancellation whose stock was never returned gets it back", async () => {
    const product = await api.createProduct({ stock: 10 });
    const customer = await api.newCustomer();
    const order = expectOrderResult(
      await api.postOrder(customer.token, { items: [{ product_id: product.id, quantity: 5 }] }),
      201,
    );
    expect(await api.stockOf(product.id)).toBe(5);
    // The cancellation committed with the release it owes, then the process died (or inventory
    // was unreachable) before the release.
    await sql.begin(async (tx) => {
      await tx`update orders.orders set status = 'cancelled' where id = ${order.id}`;
      await tx`insert into orders.stock_commands (order_id, action, due_at) values (${order.id}, 'release', now())`;
    });
    expect(await eventually(() => api.stockOf(product.id), 10, 5000)).toBe(10);
    expect(await reservationStatus(order.id)).toBe("released");
  });
});
