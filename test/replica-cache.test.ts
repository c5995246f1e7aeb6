/**
 * Two replicas of the whole platform on the same PostgreSQL, NATS and Redis: a product changed
 * through one is served fresh by the other within a second, although the other had it cached. The
 * same without Redis (PostgreSQL and NATS only): there the product events drop the other
 * replica's copies — inventory's cache and the gateway's copy beside it (forgetLocally reaching
 * the copy through InProcessCachePeers.forgetHere; docs/cache-protocol.md, "(c)" and "(e)").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasServiceUrls } from "./support/deployment.js";
import { startTestApp, type TestApp } from "./support/test-app.js";

const variants: { name: string; env: Record<string, string> }[] = [
  { name: "PostgreSQL, NATS and Redis", env: {} },
  { name: "PostgreSQL and NATS, no Redis", env: { REDIS_URL: "" } },
];

describe.skipIf(!hasServiceUrls()).each(variants)("product cache across replicas ($name)", ({ env }) => {
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    first = await startTestApp("services", env);
    second = await startTestApp("services", {
      ...env,
      DATABASE_URL: first.databaseUrl as string,
      NAMESPACE: first.namespace,
    });
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });

  /** Polls the replica until the product reads as expected; resolves with how long it took. */
  async function becomes(
    app: TestApp,
    id: string,
    check: (status: number, body: unknown) => boolean,
  ): Promise<number> {
    const started = Date.now();
    for (;;) {
      const response = await fetch(`${app.baseUrl}/products/${id}`);
      const body = response.status === 200 ? await response.json() : await response.text();
      if (check(response.status, body)) return Date.now() - started;
      if (Date.now() - started > 5000) throw new Error(`replica still serves ${JSON.stringify(body)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("serves a change made through the other replica within a second, updates and deletes alike", async () => {
    const headers = { authorization: `Bearer ${first.adminToken}`, "content-type": "application/json" };
    const created = await fetch(`${first.baseUrl}/products`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "Shared lamp", price_cents: 4000, stock: 3 }),
    });
    const { id } = (await created.json()) as { id: string };
    // Cached on the second replica, in its L1.
    for (let read = 0; read < 3; read++) {
      expect(
        ((await (await fetch(`${second.baseUrl}/products/${id}`)).json()) as { price_cents: number })
          .price_cents,
      ).toBe(4000);
    }

    const updated = await fetch(`${first.baseUrl}/products/${id}`, {
      method: "PATCH",
      headers,
      body: JSON.stringify({ price_cents: 4500 }),
    });
    expect(updated.status).toBe(200);
    const updateDelay = await becomes(
      second,
      id,
      (status, body) => status === 200 && (body as { price_cents: number }).price_cents === 4500,
    );
    expect(updateDelay).toBeLessThan(1000);

    expect((await fetch(`${first.baseUrl}/products/${id}`, { method: "DELETE", headers })).status).toBe(204);
    const deleteDelay = await becomes(second, id, (status) => status === 404);
    expect(deleteDelay).toBeLessThan(1000);
  });

  it("shows stock taken by an order placed through the other replica", async () => {
    const headers = { authorization: `Bearer ${first.adminToken}`, "content-type": "application/json" };
    const { id } = (await (
      await fetch(`${first.baseUrl}/products`, {
        method: "POST",
        headers,
        body: JSON.stringify({ name: "Shared mug", price_cents: 900, stock: 10 }),
      })
    ).json()) as { id: string };
    expect(
      ((await (await fetch(`${second.baseUrl}/products/${id}`)).json()) as { stock: number }).stock,
    ).toBe(10);
    const order = await fetch(`${first.baseUrl}/orders`, {
      method: "POST",
      headers: { authorization: `Bearer ${first.customerToken}`, "content-type": "application/json" },
      body: JSON.stringify({ items: [{ product_id: id, quantity: 4 }] }),
    });
    expect(order.status).toBe(201);
    const delay = await becomes(
      second,
      id,
      (status, body) => status === 200 && (body as { stock: number }).stock === 6,
    );
    expect(delay).toBeLessThan(1000);
  });
});
