/**
 * Split into services, with the inventory process down: a customer's cancellation still succeeds
 * (it is stored with the stock release it owes), and the stock comes back once inventory is
 * reachable again, carried out by the orders module's settlement job.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceUrls } from "./support/deployment.js";
import { eventually, expectOrderResult, orderApi } from "./support/order-json.js";
import { type TestApp, topologyTestApp } from "./support/test-app.js";
import { type SplitTopology, startSplitTopology } from "./support/topologies.js";

describe.skipIf(Array.isArray(serviceUrls()))("split: inventory down during a cancellation", () => {
  let topology: SplitTopology;
  let app: TestApp;
  const api = orderApi(() => app);

  beforeAll(async () => {
    topology = await startSplitTopology({ RESERVATION_TIMEOUT_SECONDS: "30" });
    app = await topologyTestApp(topology);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("answers the cancellation 200 and returns the stock once inventory is back", {
    timeout: 60_000,
  }, async () => {
    const product = await api.createProduct({ stock: 10 });
    const customer = await api.newCustomer();
    const order = expectOrderResult(
      await api.postOrder(customer.token, { items: [{ product_id: product.id, quantity: 4 }] }),
      201,
    );
    expect(await api.stockOf(product.id)).toBe(6);

    await topology.processes.inventory.stop();
    const cancelled = expectOrderResult(await api.setStatus(customer.token, order.id, "cancelled"), 200);
    expect(cancelled.status).toBe("cancelled");

    await topology.restart("inventory");
    expect(await eventually(() => api.stockOf(product.id), 10, 15_000)).toBe(10);
  });
});
