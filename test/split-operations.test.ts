/**
 * Every process is a service: split into four processes, each one — whatever its MODULES — serves
 * /healthz (alive, never depending on a dependency), /readyz (its own database, NATS and Redis) and
 * /metrics (its own modules' metrics and the process's), and answers any other REST path with a
 * problem+json 404. docs/operations.md, "Health" and "Metrics".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceUrls, testToken } from "./support/deployment.js";
import { sampleValue } from "./support/prometheus-text.js";
import {
  SPLIT_MODULES,
  type SplitModule,
  type SplitTopology,
  startSplitTopology,
} from "./support/topologies.js";

/** What /readyz of each process checks: what that process itself uses, and the processes it calls. */
const EXPECTED_CHECKS: Record<SplitModule, string[]> = {
  inventory: ["database", "nats", "redis"],
  orders: ["database", "inventory", "nats", "redis"],
  statistics: ["database", "nats", "redis"],
  gateway: ["inventory", "nats", "orders", "redis", "statistics"],
};

/** Metrics each process exports because of the modules it hosts (beside the process metrics). */
const OWN_METRICS: Record<SplitModule, string[]> = {
  inventory: ["outbox_backlog", "cache_hits_total"],
  orders: ["outbox_backlog"],
  statistics: ["statistics_consumer_lag", "statistics_parked_events_total"],
  gateway: ["http_requests_total"],
};

describe.skipIf(Array.isArray(serviceUrls()))("split: every process serves its probes and metrics", () => {
  let topology: SplitTopology;

  beforeAll(async () => {
    topology = await startSplitTopology();
  }, 90_000);
  afterAll(async () => {
    await topology?.stop();
  });

  const url = (module: SplitModule, path: string) => `${topology.processes[module].url}${path}`;

  it.each(SPLIT_MODULES)("%s answers /healthz 200", async (module) => {
    const response = await fetch(url(module, "/healthz"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it.each(SPLIT_MODULES)("%s answers /readyz 200, naming the dependencies it checks", async (module) => {
    const response = await fetch(url(module, "/readyz"));
    const body = (await response.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(response.status).toBe(200);
    expect(body.status).toBe("ready");
    expect(Object.keys(body.checks).sort()).toEqual(EXPECTED_CHECKS[module]);
  });

  it.each(SPLIT_MODULES)("%s serves /metrics with its own modules' metrics", async (module) => {
    if (module === "gateway") await fetch(url(module, "/healthz"));
    const response = await fetch(url(module, "/metrics"));
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(sampleValue(text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    for (const name of OWN_METRICS[module]) expect(text).toMatch(new RegExp(`^# TYPE ${name} `, "m"));
    if (module === "inventory" || module === "orders") {
      expect(sampleValue(text, "outbox_backlog", { outbox: module })).toBeDefined();
    }
  });

  it.each(SPLIT_MODULES)("%s answers an unknown REST path with a problem+json 404", async (module) => {
    const response = await fetch(url(module, "/products"));
    if (module === "gateway") {
      expect(response.status).toBe(200);
      return;
    }
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
  });

  it("counts each Connect call by method and code, as made by the caller and handled by the callee", async () => {
    const [admin, customer] = await Promise.all([
      testToken("ops-admin", "admin"),
      testToken("ops-customer", "customer"),
    ]);
    const created = await fetch(url("gateway", "/products"), {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "Metered cup",
        description: "d",
        category: "kitchen",
        price_cents: 500,
        stock: 5,
      }),
    });
    const { id } = (await created.json()) as { id: string };
    const order = await fetch(url("gateway", "/orders"), {
      method: "POST",
      headers: { authorization: `Bearer ${customer}`, "content-type": "application/json" },
      body: JSON.stringify({ items: [{ product_id: id, quantity: 1 }] }),
    });
    expect(order.status).toBe(201);
    const missing = await fetch(url("gateway", "/products/01a243ef-bac4-7935-a33b-000000000000"));
    expect(missing.status).toBe(404);

    const metrics = async (module: SplitModule) => (await fetch(url(module, "/metrics"))).text();
    const [gateway, orders, inventory] = await Promise.all([
      metrics("gateway"),
      metrics("orders"),
      metrics("inventory"),
    ]);
    const call = (service: string, method: string, code: string) => ({
      service: `ecommerce.${service}`,
      method,
      code,
    });
    const createOrder = call("orders.v1.OrderService", "CreateOrder", "ok");
    const reserveStock = call("inventory.v1.StockService", "ReserveStock", "ok");
    const getMissing = call("inventory.v1.InventoryService", "GetProduct", "not_found");
    // The gateway made CreateOrder and GetProduct; orders handled CreateOrder and made ReserveStock,
    // which inventory handled. A process records only its own side.
    expect(sampleValue(gateway, "rpc_client_requests_total", createOrder)).toBeGreaterThanOrEqual(1);
    expect(sampleValue(gateway, "rpc_client_requests_total", getMissing)).toBeGreaterThanOrEqual(1);
    expect(sampleValue(orders, "rpc_server_requests_total", createOrder)).toBeGreaterThanOrEqual(1);
    expect(sampleValue(orders, "rpc_client_requests_total", reserveStock)).toBeGreaterThanOrEqual(1);
    expect(sampleValue(inventory, "rpc_server_requests_total", reserveStock)).toBeGreaterThanOrEqual(1);
    expect(sampleValue(inventory, "rpc_server_requests_total", getMissing)).toBeGreaterThanOrEqual(1);
    expect(sampleValue(inventory, "rpc_server_duration_seconds_count", reserveStock)).toBeGreaterThanOrEqual(
      1,
    );
    expect(sampleValue(orders, "rpc_server_requests_total", reserveStock)).toBeUndefined();
    expect(sampleValue(gateway, "rpc_server_requests_total", createOrder)).toBeUndefined();
  });

  // Last: it stops a process of the shared topology (and starts it again).
  it("a process whose callee is down is not ready, naming it; it is ready again once the callee is back", async () => {
    await topology.processes.inventory.stop();
    const down = await fetch(url("orders", "/readyz"));
    const body = (await down.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(down.status).toBe(503);
    expect(body.checks.inventory?.ok).toBe(false);
    expect(body.checks.database?.ok).toBe(true);
    expect(JSON.stringify(body)).not.toContain("127.0.0.1");
    const gateway = (await (await fetch(url("gateway", "/readyz"))).json()) as typeof body;
    expect(gateway.checks.inventory?.ok).toBe(false);
    expect(gateway.checks.orders?.ok).toBe(true);

    await topology.restart("inventory");
    expect((await fetch(url("orders", "/readyz"))).status).toBe(200);
  }, 60_000);
});
