/**
 * docs/api.md, "Limits", amounts: `price_cents` ≤ 10,000,000,000 and `stock` ≤ 1,000,000,000 on REST
 * and Connect, so the largest possible order (100 lines of 1,000 units at the highest price) is
 * 10^15 cents, written exactly as a JSON number (below 2^53).
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InventoryService } from "../src/gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { bearer, connectClient, connectError } from "./support/connect-call.js";
import { type HttpCallOptions, httpCall } from "./support/http-call.js";
import { expectFieldErrors } from "./support/problem-assertions.js";
import { availableSetups, startTestApp, type TestApp } from "./support/test-app.js";

const PRICE_MAX = 10_000_000_000;
const STOCK_MAX = 1_000_000_000;

describe.each(availableSetups())("amount limits (%s)", (setup) => {
  let app: TestApp;
  const call = (method: string, path: string, options?: HttpCallOptions) =>
    httpCall(app.baseUrl, method, path, options);
  const create = (fields: Record<string, unknown>) =>
    call("POST", "/products", {
      token: app.adminToken,
      json: { name: "Bound", price_cents: 1, stock: 1, ...fields },
    });

  beforeAll(async () => {
    app = await startTestApp(setup);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("REST: accepts the largest price and stock, refuses one more, on create and update", async () => {
    const created = await create({ price_cents: PRICE_MAX, stock: STOCK_MAX });
    expect(created.status, created.text).toBe(201);
    expect(created.text).toContain(`"price_cents":${PRICE_MAX}`);
    expectFieldErrors(await create({ price_cents: PRICE_MAX + 1 }), ["price_cents"]);
    expectFieldErrors(await create({ stock: STOCK_MAX + 1 }), ["stock"]);
    const id = (created.body as { id: string }).id;
    expectFieldErrors(
      await call("PATCH", `/products/${id}`, { token: app.adminToken, json: { price_cents: PRICE_MAX + 1 } }),
      ["price_cents"],
    );
    expectFieldErrors(
      await call("PATCH", `/products/${id}`, { token: app.adminToken, json: { stock: STOCK_MAX + 1 } }),
      ["stock"],
    );
  });

  it("Connect: the same bounds", async () => {
    const inventory = connectClient(InventoryService, app);
    const admin = bearer(app.adminToken);
    const { product } = await inventory.createProduct(
      { name: "Bound", priceCents: BigInt(PRICE_MAX), stock: STOCK_MAX },
      admin,
    );
    expect(product?.priceCents).toBe(BigInt(PRICE_MAX));
    for (const request of [
      { name: "Over", priceCents: BigInt(PRICE_MAX) + 1n, stock: 1 },
      { name: "Over", priceCents: 1n, stock: STOCK_MAX + 1 },
    ]) {
      const error = await connectError(inventory.createProduct(request, admin));
      expect(error.code).toBe(Code.InvalidArgument);
    }
  });

  it("the largest order is exact: 100 lines × 1,000 units × the highest price = 10^15 cents", async () => {
    const items: { product_id: string; quantity: number }[] = [];
    for (let line = 0; line < 100; line++) {
      const created = await create({ name: `Dear ${line}`, price_cents: PRICE_MAX, stock: 1000 });
      expect(created.status, created.text).toBe(201);
      items.push({ product_id: (created.body as { id: string }).id, quantity: 1000 });
    }
    const order = await call("POST", "/orders", { token: app.customerToken, json: { items } });
    expect(order.status, order.text).toBe(201);
    expect(order.text).toContain('"total_cents":1000000000000000');
    expect(order.text).toContain('"subtotal_cents":1000000000000000');
    expect((order.body as { total_cents: number }).total_cents).toBe(10 ** 15);
  });
});
