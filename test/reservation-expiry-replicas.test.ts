/**
 * The reservation-expiry job with two replicas on one database (issue "Flip the flag…": scheduled
 * work is done once in total, not once per replica). Two whole platforms run in this process on
 * the real PostgreSQL, NATS and Redis; stock is reserved through StockService (as the orders
 * module does) and never confirmed, as when the orders side dies after taking it. Each expired
 * reservation must be released by exactly one replica, and every product's stock must end exactly
 * where it began: not lower (stock leaked), not higher (returned twice).
 */
import { Writable } from "node:stream";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningApp, startApp } from "../src/app.js";
import { StockService } from "../src/gen/ecommerce/inventory/v1/stock_service_pb.js";
import { loadConfig } from "../src/platform/config.js";
import {
  createServiceDeployment,
  type ServiceDeployment,
  serviceUrls,
  testToken,
} from "./support/deployment.js";
import { httpCall } from "./support/http-call.js";
import { pollUntil } from "./support/statistics-json.js";

const services = !Array.isArray(serviceUrls());

/** A pino logger whose JSON lines the test can read back. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split("\n")) if (line.trim() !== "") lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: pino({ level: "info", base: undefined }, stream), lines };
}

describe.skipIf(!services)("reservation expiry with two replicas on one database", () => {
  let deployment: ServiceDeployment;
  let sql: postgres.Sql;
  const replicas: { app: RunningApp; baseUrl: string; lines: Record<string, unknown>[] }[] = [];

  beforeAll(async () => {
    deployment = await createServiceDeployment();
    sql = postgres(deployment.databaseUrl, { max: 2, onnotice: () => {} });
    for (let i = 0; i < 2; i++) {
      const config = loadConfig({
        PORT: "0",
        HOST: "127.0.0.1",
        ...deployment.env,
        DATA_DIR: "memory://",
        // Expired after 1 s; each replica sweeps every 250 ms.
        RESERVATION_TIMEOUT_SECONDS: "1",
      });
      const { logger, lines } = recordingLogger();
      const app = await startApp(config, logger);
      replicas.push({ app, baseUrl: `http://127.0.0.1:${app.port}`, lines });
    }
  });

  afterAll(async () => {
    for (const replica of replicas) await replica.app.stop();
    await sql?.end();
    await deployment?.drop();
  });

  it("releases each expired reservation once in total and returns the stock exactly once", async () => {
    const adminToken = await testToken("admin-1", "admin");
    const [first, second] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    const initial = 1_000;
    const products: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await httpCall(first.baseUrl, "POST", "/products", {
        token: adminToken,
        json: { name: `Expiring ${i}`, price_cents: 700, stock: initial },
      });
      expect(created.status, created.text).toBe(201);
      products.push((created.body as { id: string }).id);
    }

    // 90 reservations, taken through both replicas over ~1 s, so they expire while both sweep.
    const stock = replicas.map((replica) =>
      createClient(StockService, createConnectTransport({ baseUrl: replica.baseUrl, httpVersion: "1.1" })),
    );
    const service = { headers: { authorization: `Bearer ${await testToken("service:test", "service")}` } };
    const orderIds: string[] = [];
    const taken = new Map(products.map((id) => [id, 0]));
    for (let i = 0; i < 90; i++) {
      const orderId = `expiring-${deployment.namespace}-${i}`;
      const lines = [
        { productId: products[i % 3] as string, quantity: 1 + (i % 4) },
        { productId: products[(i + 1) % 3] as string, quantity: 2 },
      ];
      await stock[i % 2]?.reserveStock({ orderId, lines }, service);
      for (const line of lines) taken.set(line.productId, (taken.get(line.productId) ?? 0) + line.quantity);
      orderIds.push(orderId);
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Wait for everything to be released, as the database sees it.
    const released = await pollUntil(
      async () =>
        Number(
          (
            await sql<
              { n: number }[]
            >`select count(*)::int as n from inventory.reservations where status = 'released'`
          )[0]?.n,
        ),
      (n) => n === orderIds.length,
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(released.value).toBe(orderIds.length);
    // Let both replicas sweep a few more times: a second release would show now.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    // Each reservation released by exactly one replica.
    const releasedBy = replicas.map((replica) =>
      replica.lines
        .filter((line) => line.msg === "released expired reservations")
        .flatMap((line) => line.orderIds as string[]),
    );
    const all = releasedBy.flat();
    console.log(
      `expired reservations released per replica: ${releasedBy.map((ids) => ids.length).join(" + ")} = ${all.length}`,
    );
    expect([...all].sort()).toEqual([...orderIds].sort());
    expect(new Set(all).size).toBe(all.length);

    // Stock exactly where it began, in the database and as both replicas serve it.
    const rows = await sql<{ id: string; stock: number }[]>`select id::text, stock from inventory.products`;
    expect(Object.fromEntries(rows.map((row) => [row.id, row.stock]))).toEqual(
      Object.fromEntries(products.map((id) => [id, initial])),
    );
    for (const replica of [first, second]) {
      for (const id of products) {
        const read = await httpCall(replica.baseUrl, "GET", `/products/${id}`);
        expect((read.body as { stock: number }).stock).toBe(initial);
      }
    }
  }, 60_000);
});
