/**
 * The gateway's copy of products (src/gateway/product-edge-cache.ts): a warm anonymous read is
 * answered by the gateway itself — inventory's GetProduct is not called, in process or over the
 * network — while reads that carry a token still reach inventory, which checks the token, and
 * every change inventory answers (a PATCH, stock taken by an order, a DELETE) shows in the very
 * next read. Counted from the gateway's own metrics, so not behind the replicas' proxy (each
 * replica has its own; test/product-freshness.test.ts covers their freshness).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpCall } from "./support/http-call.js";
import { orderApi } from "./support/order-json.js";
import type { ProductJson } from "./support/product-json.js";
import { sampleValue } from "./support/prometheus-text.js";
import { availableSetups, startTestApp, type TestApp } from "./support/test-app.js";

const setups = availableSetups().filter((setup) => setup !== "replicas");

describe.each(setups)("the gateway's copy of products (%s)", (setup) => {
  let app: TestApp;
  const { call, createProduct, newCustomer, postOrder } = orderApi(() => app);

  beforeAll(async () => {
    app = await startTestApp(setup);
  });
  afterAll(async () => {
    await app?.stop();
  });

  /** GetProduct calls the gateway has made to inventory, whatever their outcome. */
  async function getProductCalls(): Promise<number> {
    const result = await httpCall(app.baseUrl, "GET", "/metrics");
    expect(result.status).toBe(200);
    // Every code summed: a call inventory refused is a call made all the same.
    return (
      sampleValue(result.text, "rpc_client_requests_total", {
        service: "ecommerce.inventory.v1.InventoryService",
        method: "GetProduct",
      }) ?? 0
    );
  }

  async function read(id: string, token?: string) {
    return call("GET", `/products/${id}`, { token });
  }

  it("answers warm anonymous reads itself: inventory is asked once", async () => {
    const product = await createProduct({ name: "Copied", stock: 3 });
    const before = await getProductCalls();
    expect((await read(product.id)).status).toBe(200);
    const afterFirst = await getProductCalls();
    expect(afterFirst - before).toBe(1);
    for (let i = 0; i < 20; i++) {
      const again = await read(product.id);
      expect(again.status).toBe(200);
      expect(again.body).toEqual((await read(product.id)).body);
      expect((again.body as ProductJson).name).toBe("Copied");
    }
    expect(await getProductCalls()).toBe(afterFirst);
  });

  it("a read that carries a token reaches inventory, which checks it, even for a copied product", async () => {
    const product = await createProduct();
    expect((await read(product.id)).status).toBe(200);
    const before = await getProductCalls();
    const forged = await read(product.id, "not-a-token");
    expect(forged.status, forged.text).toBe(401);
    const signedIn = await read(product.id, app.customerToken);
    expect(signedIn.status, signedIn.text).toBe(200);
    expect(await getProductCalls()).toBe(before + 2);
  });

  it("a product read by its id in upper case shows a change in the next read, in either case", async () => {
    const product = await createProduct({ price_cents: 700 });
    const upper = product.id.toUpperCase();
    expect(((await read(upper)).body as ProductJson).price_cents).toBe(700);
    expect(((await read(upper)).body as ProductJson).price_cents).toBe(700);
    const patched = await call("PATCH", `/products/${product.id}`, {
      token: app.adminToken,
      json: { price_cents: 710 },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(((await read(upper)).body as ProductJson).price_cents).toBe(710);
    expect(((await read(product.id)).body as ProductJson).price_cents).toBe(710);
  });

  it("a change inventory answered shows in the next read: a PATCH, an order's stock, a DELETE", async () => {
    const product = await createProduct({ price_cents: 500, stock: 5 });
    expect((await read(product.id)).status).toBe(200);
    expect((await read(product.id)).status).toBe(200); // answered from the copy

    const patched = await call("PATCH", `/products/${product.id}`, {
      token: app.adminToken,
      json: { price_cents: 650 },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(((await read(product.id)).body as ProductJson).price_cents).toBe(650);

    const customer = await newCustomer();
    const order = await postOrder(customer.token, { items: [{ product_id: product.id, quantity: 2 }] });
    expect(order.status, order.text).toBe(201);
    expect(((await read(product.id)).body as ProductJson).stock).toBe(3);

    const deleted = await call("DELETE", `/products/${product.id}`, { token: app.adminToken });
    expect(deleted.status, deleted.text).toBe(204);
    expect((await read(product.id)).status).toBe(404);
  });
});
