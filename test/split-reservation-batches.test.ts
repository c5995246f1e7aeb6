/**
 * Split into four processes, concurrent orders' reservations travel together: the orders process
 * sends the ones asked for while one is on its way in one ReserveStocks call, and each order still
 * gets its own answer — 201 with its lines, or the 409 out-of-stock problem ReserveStock would have
 * given it — with no oversell. docs/architecture.md, "An order".
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { serviceUrls, testToken } from "./support/deployment.js";
import { sampleValue } from "./support/prometheus-text.js";
import { type SplitTopology, startSplitTopology } from "./support/topologies.js";

const RESERVE_STOCKS = {
  service: "ecommerce.inventory.v1.StockService",
  method: "ReserveStocks",
  code: "ok",
};
const RESERVE_STOCK = { service: "ecommerce.inventory.v1.StockService", method: "ReserveStock", code: "ok" };
const RESERVE_STOCK_REFUSED = { ...RESERVE_STOCK, code: "failed_precondition" };

describe.skipIf(Array.isArray(serviceUrls()))("split: concurrent orders' reservations", () => {
  let topology: SplitTopology;

  /** Calls inventory served, by method: single reservations (ok or refused) and batches. */
  const servedCalls = async () => {
    const text = await (await fetch(`${topology.processes.inventory.url}/metrics`)).text();
    const count = (labels: Record<string, string>) =>
      sampleValue(text, "rpc_server_requests_total", labels) ?? 0;
    return { single: count(RESERVE_STOCK) + count(RESERVE_STOCK_REFUSED), batches: count(RESERVE_STOCKS) };
  };

  it("go in fewer calls than orders, each order answered on its own, no oversell", async () => {
    topology = await startSplitTopology();
    try {
      await placeRacingOrders();
    } finally {
      await topology.stop();
    }
  }, 120_000);

  async function placeRacingOrders(): Promise<void> {
    const admin = await testToken("batch-admin", "admin");
    const created = await fetch(`${topology.baseUrl}/products`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "Batched mug",
        description: "d",
        category: "kitchen",
        price_cents: 700,
        stock: 40,
      }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const buyers = await Promise.all(
      Array.from({ length: 120 }, (_, index) => testToken(`batch-${index}-${randomUUID()}`, "customer")),
    );
    const before = await servedCalls();

    const results = await Promise.all(
      buyers.map(async (token) => {
        const response = await fetch(`${topology.baseUrl}/orders`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ items: [{ product_id: id, quantity: 1 }] }),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      }),
    );

    const placed = results.filter((result) => result.status === 201);
    const refused = results.filter((result) => result.status === 409);
    expect(placed).toHaveLength(40);
    expect(refused).toHaveLength(80);
    for (const { body } of placed) {
      expect(body.items).toEqual([
        expect.objectContaining({ product_id: id, quantity: 1, unit_price_cents: 700 }),
      ]);
    }
    // The refusal is the one ReserveStock gives, reason and all, batched or not.
    for (const { body } of refused)
      expect(body).toMatchObject({ code: "failed_precondition", reason: "OUT_OF_STOCK" });
    const product = (await (await fetch(`${topology.baseUrl}/products/${id}`)).json()) as { stock: number };
    expect(product.stock).toBe(0);

    const after = await servedCalls();
    const batches = after.batches - before.batches;
    const single = after.single - before.single;
    expect(batches).toBeGreaterThanOrEqual(1);
    // Every order's reservation went in one call or another, and far fewer calls than orders.
    expect(batches + single).toBeLessThan(results.length);
  }
});
