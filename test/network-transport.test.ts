/**
 * The switch to the network transport: a gateway-only process with INVENTORY_URL, ORDERS_URL and
 * STATISTICS_URL reaches the modules hosted by another process over Connect, with the same
 * results and errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasServiceUrls } from "./support/deployment.js";
import { startTestApp, type TestApp } from "./support/test-app.js";

describe.skipIf(!hasServiceUrls())("*_URL selects the network transport", () => {
  let inventory: TestApp;
  let gateway: TestApp;

  beforeAll(async () => {
    inventory = await startTestApp("services", { MODULES: "inventory,orders,statistics" });
    gateway = await startTestApp("services", {
      MODULES: "gateway",
      INVENTORY_URL: inventory.baseUrl,
      ORDERS_URL: inventory.baseUrl,
      STATISTICS_URL: inventory.baseUrl,
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await inventory?.stop();
  });

  it("serves the catalog through a gateway that hosts no module", async () => {
    const created = await fetch(`${gateway.baseUrl}/products`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Rug", price_cents: 4500, stock: 2 }),
    });
    expect(created.status).toBe(201);
    const product = (await created.json()) as { id: string };
    const read = await fetch(`${gateway.baseUrl}/products/${product.id}`);
    expect(await read.json()).toMatchObject({ id: product.id, name: "Rug", price_cents: 4500 });

    // The inventory process answers the same data directly: it is where the product lives.
    expect(
      (
        await fetch(`${inventory.baseUrl}/ecommerce.inventory.v1.InventoryService/GetProduct`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id: product.id }),
        })
      ).status,
    ).toBe(200);

    // Errors cross the network with their code and field details.
    const asCustomer = await fetch(`${gateway.baseUrl}/products`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.customerToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Rug", price_cents: 4500, stock: 2 }),
    });
    expect(asCustomer.status).toBe(403);
    const invalid = await fetch(`${gateway.baseUrl}/products`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "", price_cents: -5, stock: 2 }),
    });
    expect(invalid.status).toBe(400);
    const problem = (await invalid.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((error) => error.field).sort()).toEqual(["name", "price_cents"]);
    expect((await fetch(`${gateway.baseUrl}/products/01a216f4-930f-7660-bd73-b74cc8de2b49`)).status).toBe(
      404,
    );
  });
});

describe.skipIf(!hasServiceUrls())("a module process that is down", () => {
  let gateway: TestApp;

  beforeAll(async () => {
    // Nothing listens on port 1: every call to the modules fails to connect.
    const down = "http://127.0.0.1:1";
    gateway = await startTestApp("services", {
      MODULES: "gateway",
      INVENTORY_URL: down,
      ORDERS_URL: down,
      STATISTICS_URL: down,
    });
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it("answers 503 problem+json with Retry-After at the REST edge, for reads and writes", async () => {
    const read = await fetch(`${gateway.baseUrl}/products/01a216f4-930f-7660-bd73-b74cc8de2b49`);
    expect(read.status).toBe(503);
    expect(read.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(read.headers.get("content-type")).toContain("application/problem+json");
    expect(((await read.json()) as { code: string }).code).toBe("unavailable");

    const write = await fetch(`${gateway.baseUrl}/orders`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.customerToken}`, "content-type": "application/json" },
      body: JSON.stringify({ items: [{ product_id: "01a216f4-930f-7660-bd73-b74cc8de2b49", quantity: 1 }] }),
    });
    expect(write.status).toBe(503);
    expect(write.headers.get("retry-after")).toMatch(/^\d+$/);
  });
});
