/**
 * Orders under concurrency on real PostgreSQL, on every set-up of the run (the embedded one runs
 * on a PostgreSQL server too, the machine's or the run's embedded server): no oversell when many customers race for the last units, and concurrent
 * multi-line orders over the same products in opposite line order finish without deadlock errors,
 * never drive stock below zero, and take exactly what the successful orders hold.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpResult } from "./support/http-call.js";
import { expectOrderResult, type OrderJson, orderApi } from "./support/order-json.js";
import { expectProblem } from "./support/problem-assertions.js";
import { inProcessSetups, startTestApp, type TestApp } from "./support/test-app.js";

describe.each(inProcessSetups())("orders under concurrency (%s)", (setup) => {
  let app: TestApp;
  const api = orderApi(() => app);

  beforeAll(async () => {
    app = await startTestApp(setup);
  });
  afterAll(async () => {
    await app?.stop();
  });

  /** Watches a product's stock while `work` runs; returns the lowest value seen. */
  async function lowestStockDuring<T>(
    productIds: string[],
    work: Promise<T>,
  ): Promise<{ result: T; lowest: number }> {
    let done = false;
    let lowest = Number.POSITIVE_INFINITY;
    const watcher = (async () => {
      while (!done) {
        for (const id of productIds) lowest = Math.min(lowest, await api.stockOf(id));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const result = await work.finally(() => {
      done = true;
    });
    await watcher;
    return { result, lowest };
  }

  it("200 concurrent orders of 1 unit against a stock of 50: exactly 50 × 201 and 150 × 409", async () => {
    const product = await api.createProduct({ name: "Last units", price_cents: 999, stock: 50 });
    const buyers = await Promise.all(
      Array.from({ length: 200 }, (_, index) => app.token(`race-${index}-${randomUUID()}`, "customer")),
    );
    const { result: results, lowest } = await lowestStockDuring(
      [product.id],
      Promise.all(
        buyers.map((token) => api.postOrder(token, { items: [{ product_id: product.id, quantity: 1 }] })),
      ),
    );

    const byStatus = new Map<number, HttpResult[]>();
    for (const result of results)
      byStatus.set(result.status, [...(byStatus.get(result.status) ?? []), result]);
    expect(
      Object.fromEntries([...byStatus].map(([status, list]) => [status, list.length])),
      results.find((result) => result.status !== 201 && result.status !== 409)?.text,
    ).toEqual({ 201: 50, 409: 150 });
    const orders = (byStatus.get(201) ?? []).map((result) => expectOrderResult(result, 201));
    for (const result of byStatus.get(409) ?? []) expectProblem(result, 409, "failed_precondition");
    expect(new Set(orders.map((order) => order.id)).size).toBe(50);
    expect(new Set(orders.map((order) => order.user_id)).size).toBe(50);
    expect(lowest).toBeGreaterThanOrEqual(0);
    expect(await api.stockOf(product.id)).toBe(0);

    // Exactly the 50 successful orders exist for this product, one per successful buyer.
    const all = await api.listAll(app.adminToken, { page_size: "100" });
    const forProduct = all.filter((order) => order.items.some((item) => item.product_id === product.id));
    expect(forProduct.map((order) => order.id).sort()).toEqual(orders.map((order) => order.id).sort());
    for (const order of forProduct) expect(order.items).toEqual([expect.objectContaining({ quantity: 1 })]);
    // One more is refused, and the stock stays at 0.
    expectProblem(
      await api.postOrder(app.customerToken, { items: [{ product_id: product.id, quantity: 1 }] }),
      409,
      "failed_precondition",
    );
    expect(await api.stockOf(product.id)).toBe(0);
  });

  it("concurrent two-line orders in opposite line order: no 5xx, no deadlock, stock taken = sum of orders", async () => {
    const x = await api.createProduct({ name: "X", stock: 120 });
    const y = await api.createProduct({ name: "Y", stock: 120 });
    const plans = Array.from({ length: 160 }, (_, index) => {
      const qx = 1 + (index % 3);
      const qy = 1 + ((index * 7) % 3);
      const lines = [
        { product_id: x.id, quantity: qx },
        { product_id: y.id, quantity: qy },
      ];
      return index % 2 === 0 ? lines : lines.reverse();
    });
    const tokens = await Promise.all(
      plans.map((_, index) => app.token(`pair-${index}-${randomUUID()}`, "customer")),
    );

    const { result: results, lowest } = await lowestStockDuring(
      [x.id, y.id],
      Promise.all(plans.map((items, index) => api.postOrder(tokens[index] as string, { items }))),
    );

    for (const result of results) {
      expect(result.status, result.text).toBeLessThan(500);
      expect([201, 409], result.text).toContain(result.status);
      if (result.status === 409) expectProblem(result, 409, "failed_precondition");
    }
    const orders: OrderJson[] = results
      .filter((result) => result.status === 201)
      .map((result) => expectOrderResult(result, 201));
    // Demand (~320 units of each) exceeds the stock, so both outcomes must occur.
    expect(orders.length).toBeGreaterThan(0);
    expect(orders.length).toBeLessThan(plans.length);
    const taken = (productId: string) =>
      orders.reduce(
        (sum, order) => sum + (order.items.find((item) => item.product_id === productId)?.quantity ?? 0),
        0,
      );
    for (const order of orders) expect(order.items).toHaveLength(2);
    expect(lowest).toBeGreaterThanOrEqual(0);
    const stockX = await api.stockOf(x.id);
    const stockY = await api.stockOf(y.id);
    expect(stockX).toBeGreaterThanOrEqual(0);
    expect(stockY).toBeGreaterThanOrEqual(0);
    expect(120 - stockX).toBe(taken(x.id));
    expect(120 - stockY).toBe(taken(y.id));

    // Cancelling every successful order concurrently returns everything exactly once.
    const cancels = await Promise.all(
      orders.map((order) => api.setStatus(app.adminToken, order.id, "cancelled")),
    );
    for (const result of cancels) expect(result.status, result.text).toBe(200);
    expect(await api.stockOf(x.id)).toBe(120);
    expect(await api.stockOf(y.id)).toBe(120);
  });
});
