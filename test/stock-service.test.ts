/**
 * StockService is internal: anonymous, customer and admin callers are refused over the network
 * (docs/api.md, "Internal services"), and the service credential a module presents can take and return
 * stock, with the cached product fresh afterwards.
 * A reservation never confirmed comes back on its own after the reservation timeout.
 */
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StockService } from "../src/gen/ecommerce/inventory/v1/stock_service_pb.js";
import { inProcessSetups, startTestApp, TEST_SECRET, type TestApp } from "./support/test-app.js";

// StockService is internal: inventory serves it to the orders module, and no gateway forwards it.
describe.each(inProcessSetups())("StockService (%s)", (setup) => {
  let app: TestApp;
  let client: ReturnType<typeof createClient<typeof StockService>>;
  const service = () => ({ headers: { authorization: `Bearer ${app.serviceToken}` } });
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

  it("rejects anonymous, customer and admin callers and changes nothing", async () => {
    const id = await createProduct(5);
    await stockOf(id); // cached
    const request = { orderId: `o-${id}`, lines: [{ productId: id, quantity: 1 }] };
    await expect(client.reserveStock(request)).rejects.toMatchObject({ code: Code.Unauthenticated });
    for (const token of [app.customerToken, app.adminToken]) {
      const as = { headers: { authorization: `Bearer ${token}` } };
      await expect(client.reserveStock(request, as)).rejects.toMatchObject({ code: Code.PermissionDenied });
      await expect(client.confirmReservations({ orderIds: [request.orderId] }, as)).rejects.toMatchObject({
        code: Code.PermissionDenied,
      });
      await expect(client.releaseReservation({ orderId: request.orderId }, as)).rejects.toMatchObject({
        code: Code.PermissionDenied,
      });
    }
    expect(await stockOf(id)).toBe(5);
  });

  it("refuses an admin who would release the stock of a stored order", async () => {
    const id = await createProduct(5);
    const placed = await fetch(`${app.baseUrl}/orders`, {
      method: "POST",
      headers: { authorization: `Bearer ${app.customerToken}`, "content-type": "application/json" },
      body: JSON.stringify({ items: [{ product_id: id, quantity: 2 }] }),
    });
    const orderId = ((await placed.json()) as { id: string }).id;
    expect(await stockOf(id)).toBe(3);
    const admin = { headers: { authorization: `Bearer ${app.adminToken}` } };
    await expect(client.releaseReservation({ orderId }, admin)).rejects.toMatchObject({
      code: Code.PermissionDenied,
    });
    expect(await stockOf(id)).toBe(3);
  });

  it("refuses a service credential without an expiry (the platform never mints one)", async () => {
    const { SignJWT } = await import("jose");
    const forever = await new SignJWT({ role: "service" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("service:forged")
      .sign(new TextEncoder().encode(TEST_SECRET));
    await expect(
      client.releaseReservation({ orderId: "o-x" }, { headers: { authorization: `Bearer ${forever}` } }),
    ).rejects.toMatchObject({ code: Code.Unauthenticated });
  });

  it("takes and returns stock for a module, and reads after it are fresh", async () => {
    const id = await createProduct(5);
    expect(await stockOf(id)).toBe(5); // cached
    const orderId = `o2-${id}`;
    const reserved = await client.reserveStock(
      { orderId, lines: [{ productId: id, quantity: 2 }] },
      service(),
    );
    expect(reserved.lines[0]).toMatchObject({
      productId: id,
      productName: "Teapot",
      quantity: 2,
      unitPriceCents: 3000n,
    });
    expect(await stockOf(id)).toBe(3);
    expect(
      await client.confirmReservations({ orderIds: [orderId, "never-reserved"] }, service()),
    ).toMatchObject({
      releasedOrderIds: [],
      unknownOrderIds: ["never-reserved"],
    });
    expect((await client.releaseReservation({ orderId }, service())).released).toBe(true);
    expect((await client.releaseReservation({ orderId }, service())).released).toBe(false);
    expect(await stockOf(id)).toBe(5);
  });

  it("rejects bad input with every field named", async () => {
    await expect(
      client.reserveStock({ orderId: "", lines: [{ productId: "x", quantity: 0 }] }, service()),
    ).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(client.reserveStock({ orderId: "o", lines: [] }, service())).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
  });

  it("returns the stock of a reservation nobody confirmed once the timeout has passed", async () => {
    const id = await createProduct(4);
    await client.reserveStock({ orderId: `o3-${id}`, lines: [{ productId: id, quantity: 3 }] }, service());
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
