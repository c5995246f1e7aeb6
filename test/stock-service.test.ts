/**
 * StockService is internal: customers and anonymous callers are rejected over the network, and a
 * module's admin-role token can take and return stock, with the cached product fresh afterwards.
 * A reservation never confirmed comes back on its own after the reservation timeout.
 */
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StockService } from "../src/gen/ecommerce/inventory/v1/stock_service_pb.js";
import { inProcessSetups, startTestApp, type TestApp } from "./support/test-app.js";

// StockService is internal: inventory serves it to the orders module, and no gateway forwards it.
describe.each(inProcessSetups())("StockService (%s)", (setup) => {
  let app: TestApp;
  let client: ReturnType<typeof createClient<typeof StockService>>;
  const admin = () => ({ headers: { authorization: `Bearer ${app.adminToken}` } });
  const createProduct = async (stock: number) => {
    const response = await fetch(`${app.baseUrl}/products`, {
      method: "POST",
      headers: { authorization: `Bearer ${app.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Teapot", price_cents: 3000, stock }),
    });
    return ((await response.json()) as { id: string }).id;
  };
  const stockOf = async (id: string) =>
    ((await (await fetch(`${app.baseUrl}/products/${id}`)).json()) as { stock: number }).stock;

  beforeAll(async () => {
    app = await startTestApp(setup, { RESERVATION_TIMEOUT_SECONDS: "1" });
    client = createClient(StockService, createConnectTransport({ baseUrl: app.baseUrl, httpVersion: "1.1" }));
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("rejects anonymous and customer callers and changes nothing", async () => {
    const id = await createProduct(5);
    await stockOf(id); // cached
    const request = { orderId: `o-${id}`, lines: [{ productId: id, quantity: 1 }] };
    await expect(client.reserveStock(request)).rejects.toMatchObject({ code: Code.Unauthenticated });
    await expect(
      client.reserveStock(request, { headers: { authorization: `Bearer ${app.customerToken}` } }),
    ).rejects.toMatchObject({ code: Code.PermissionDenied });
    expect(await stockOf(id)).toBe(5);
  });

  it("takes and returns stock for a module, and reads after it are fresh", async () => {
    const id = await createProduct(5);
    expect(await stockOf(id)).toBe(5); // cached
    const orderId = `o2-${id}`;
    const reserved = await client.reserveStock({ orderId, lines: [{ productId: id, quantity: 2 }] }, admin());
    expect(reserved.lines[0]).toMatchObject({
      productId: id,
      productName: "Teapot",
      quantity: 2,
      unitPriceCents: 3000n,
    });
    expect(await stockOf(id)).toBe(3);
    expect(
      await client.confirmReservations({ orderIds: [orderId, "never-reserved"] }, admin()),
    ).toMatchObject({
      releasedOrderIds: [],
      unknownOrderIds: ["never-reserved"],
    });
    expect((await client.releaseReservation({ orderId }, admin())).released).toBe(true);
    expect((await client.releaseReservation({ orderId }, admin())).released).toBe(false);
    expect(await stockOf(id)).toBe(5);
  });

  it("rejects bad input with every field named", async () => {
    await expect(
      client.reserveStock({ orderId: "", lines: [{ productId: "x", quantity: 0 }] }, admin()),
    ).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(client.reserveStock({ orderId: "o", lines: [] }, admin())).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
  });

  it("returns the stock of a reservation nobody confirmed once the timeout has passed", async () => {
    const id = await createProduct(4);
    await client.reserveStock({ orderId: `o3-${id}`, lines: [{ productId: id, quantity: 3 }] }, admin());
    expect(await stockOf(id)).toBe(1);
    const deadline = Date.now() + 8000;
    let stock = 1;
    while (Date.now() < deadline && stock !== 4) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      stock = await stockOf(id);
    }
    expect(stock).toBe(4);
  });
});
