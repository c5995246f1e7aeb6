/**
 * No stale reads: once a PUT or DELETE has answered, every later GET shows the change, even
 * while other readers keep the cache hot (L1 and, with services, Redis L2).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { availableSetups, startTestApp, type TestApp } from "./support/test-app.js";

describe.each(availableSetups())("product reads after writes (%s)", (setup) => {
  let app: TestApp;
  const admin = () => ({ authorization: `Bearer ${app.adminToken}`, "content-type": "application/json" });

  beforeAll(async () => {
    app = await startTestApp(setup);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("a GET after a successful PUT never shows the old value, under concurrent readers", async () => {
    const created = await fetch(`${app.baseUrl}/products`, {
      method: "POST",
      headers: admin(),
      body: JSON.stringify({ name: "Lamp", price_cents: 1000, stock: 5 }),
    });
    const { id } = (await created.json()) as { id: string };
    const url = `${app.baseUrl}/products/${id}`;

    let reading = true;
    const readers = Array.from({ length: 8 }, async () => {
      while (reading) await (await fetch(url)).arrayBuffer();
    });
    try {
      for (let price = 1001; price <= 1060; price++) {
        const put = await fetch(url, {
          method: "PUT",
          headers: admin(),
          body: JSON.stringify({ price_cents: price }),
        });
        expect(put.status).toBe(200);
        const read = (await (await fetch(url)).json()) as { price_cents: number };
        expect(read.price_cents).toBe(price);
      }
    } finally {
      reading = false;
      await Promise.all(readers);
    }
  });

  it("a GET after a successful DELETE is a 404", async () => {
    const created = await fetch(`${app.baseUrl}/products`, {
      method: "POST",
      headers: admin(),
      body: JSON.stringify({ name: "Chair", price_cents: 5000, stock: 1 }),
    });
    const { id } = (await created.json()) as { id: string };
    const url = `${app.baseUrl}/products/${id}`;
    expect((await fetch(url)).status).toBe(200); // now cached
    expect((await fetch(url, { method: "DELETE", headers: admin() })).status).toBe(204);
    expect((await fetch(url)).status).toBe(404);
  });
});
