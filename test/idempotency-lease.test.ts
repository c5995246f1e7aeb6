/**
 * An Idempotency-Key claimed by a request whose process died does not block its key for 24 hours:
 * a repeat is told to wait (409) while the claim's lease (2 × RPC_TIMEOUT_MS) runs, then takes the
 * key over and places the order, once. Proven with a child process killed (SIGKILL) mid-request on
 * the real PostgreSQL, its request held up by a slow reservation.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChildApp, startChildApp } from "./support/child-app.js";
import {
  createServiceDeployment,
  type ServiceDeployment,
  serviceUrls,
  testToken,
} from "./support/deployment.js";
import { httpCall } from "./support/http-call.js";
import { eventually } from "./support/order-json.js";
import { expectProblem } from "./support/problem-assertions.js";

const services = !Array.isArray(serviceUrls());
const RPC_TIMEOUT_MS = 5_000;
const LEASE_MS = 2 * RPC_TIMEOUT_MS;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!services)("Idempotency-Key lease after a crash (child processes, services)", () => {
  let deployment: ServiceDeployment;
  let sql: postgres.Sql;
  const children: ChildApp[] = [];
  const start = async () => {
    const child = await startChildApp({
      ...deployment.env,
      PORT: "0",
      HOST: "127.0.0.1",
      RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS),
      RESERVATION_TIMEOUT_SECONDS: "1",
    });
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    deployment = await createServiceDeployment();
    sql = postgres(deployment.databaseUrl, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    for (const child of children) await child.stop("SIGKILL");
    await sql?.end();
    await deployment?.drop();
  });

  it("a repeat waits out the lease, then places the order once", async () => {
    const first = await start();
    const admin = await testToken("admin-1", "admin");
    const customer = await testToken(`lease-${deployment.namespace}`, "customer");
    const created = await httpCall(first.url, "POST", "/products", {
      token: admin,
      json: { name: "Leased", price_cents: 700, stock: 10 },
    });
    const productId = (created.body as { id: string }).id;
    const order = (url: string) =>
      httpCall(url, "POST", "/orders", {
        token: customer,
        json: { items: [{ product_id: productId, quantity: 3 }] },
        headers: { "idempotency-key": "crash-key" },
      });

    // Taking stock now takes a second: the request is in flight, its key claimed, when we kill it.
    await sql.unsafe(`
      create function inventory.slow_reservation() returns trigger language plpgsql as
        $$ begin perform pg_sleep(1); return new; end $$;
      create trigger slow_reservation before insert on inventory.reservations
        for each row execute function inventory.slow_reservation();`);
    const inFlight = order(first.url).catch(() => undefined);
    const claimedAt = Date.now();
    await eventually(async () => {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from orders.idempotency_keys where key = 'crash-key' and order_id is null`;
      return row?.n;
    }, 1);
    await first.stop("SIGKILL");
    await inFlight;
    await sql.unsafe(
      "drop trigger slow_reservation on inventory.reservations; drop function inventory.slow_reservation();",
    );

    const second = await start();
    // Within the lease the dead attempt's claim still stands.
    if (Date.now() - claimedAt < LEASE_MS - 1_000) {
      expectProblem(await order(second.url), 409, "aborted");
    }
    await sleep(Math.max(0, claimedAt + LEASE_MS + 500 - Date.now()));
    const placed = await order(second.url);
    expect(placed.status, placed.text).toBe(201);
    const again = await order(second.url);
    expect(again.status).toBe(201);
    expect((again.body as { id: string }).id).toBe((placed.body as { id: string }).id);

    const [orders] = await sql<{ n: number }[]>`select count(*)::int as n from orders.orders`;
    expect(orders?.n).toBe(1);
    // Whatever the killed attempt had taken came back when its reservation expired.
    const stockOf = async () =>
      ((await httpCall(second.url, "GET", `/products/${productId}`)).body as { stock: number }).stock;
    expect(await eventually(stockOf, 7, 10_000)).toBe(7);
  }, 90_000);
});
