/**
 * docs/api.md, "Limits", text: a NUL character or an unpaired surrogate in any text field, path segment
 * or query value is 400 invalid_argument naming the field, on REST, Connect and gRPC alike, and
 * changes nothing (PostgreSQL cannot store NUL; before, such requests were 500s).
 */
import { Code } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateProductRequestSchema,
  CreateProductResponseSchema,
  InventoryService,
} from "../src/gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { OrderService } from "../src/gen/ecommerce/orders/v1/order_service_pb.js";
import { bearer, connectClient, connectError } from "./support/connect-call.js";
import { grpcJsError, grpcJsUnary } from "./support/grpc-js-unary.js";
import { type HttpCallOptions, httpCall } from "./support/http-call.js";
import { expectFieldErrors } from "./support/problem-assertions.js";
import { availableSetups, startTestApp, type TestApp } from "./support/test-app.js";

/** NUL, and unpaired surrogates as JSON escapes (a JSON parser turns them into lone code units). */
const NUL = "\u0000";
const LONE_HIGH = "\ud800";
const LONE_LOW = "\udc00";

describe.each(availableSetups())("malformed text (%s)", (setup) => {
  let app: TestApp;
  let productId: string;
  let before: string;

  const call = (method: string, path: string, options?: HttpCallOptions) =>
    httpCall(app.baseUrl, method, path, options);
  const admin = (json: unknown): HttpCallOptions => ({ token: app.adminToken, json });

  beforeAll(async () => {
    app = await startTestApp(setup);
    const created = await call("POST", "/products", admin({ name: "Mug", price_cents: 900, stock: 5 }));
    expect(created.status, created.text).toBe(201);
    productId = (created.body as { id: string }).id;
    before = (await call("GET", `/products/${productId}`)).text;
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("REST: a path segment, a query value and body fields are 400 naming the field", async () => {
    expectFieldErrors(await call("GET", "/products/%00"), ["id"]);
    // A lone surrogate's bytes in a URL are not UTF-8: refused before any route.
    expectFieldErrors(await call("GET", "/products/%ED%A0%80"), ["path"]);
    expectFieldErrors(await call("GET", "/products?q=%00"), ["q"]);
    expectFieldErrors(await call("GET", "/products?in_stock=true&q=a%ED%A0%80"), ["q"]);
    expectFieldErrors(await call("GET", "/products?category=a%00b"), ["category"]);
    expectFieldErrors(await call("GET", `/stats/user-orders/x%00`, { token: app.adminToken }), ["user_id"]);
    for (const bad of [NUL, LONE_HIGH, LONE_LOW]) {
      expectFieldErrors(
        await call("POST", "/products", admin({ name: `Cup${bad}`, price_cents: 100, stock: 1 })),
        ["name"],
      );
      expectFieldErrors(await call("PATCH", `/products/${productId}`, admin({ category: `k${bad}` })), [
        "category",
      ]);
      expectFieldErrors(
        await call("POST", `/products/${productId}/reviews`, {
          token: app.customerToken,
          json: { rating: 4, comment: `nice${bad}` },
        }),
        ["comment"],
      );
      expectFieldErrors(
        await call("POST", "/orders", {
          token: app.customerToken,
          json: { items: [{ product_id: `${productId}${bad}`, quantity: 1 }] },
        }),
        ["items[0].product_id"],
      );
    }
  });

  it("Connect: a NUL or unpaired surrogate is invalid_argument naming the field", async () => {
    const inventory = connectClient(InventoryService, app);
    const error = await connectError(
      inventory.createProduct(
        { name: "Bowl", description: `d${NUL}`, priceCents: 100n, stock: 1 },
        bearer(app.adminToken),
      ),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("description");
    const orders = connectClient(OrderService, app);
    const review = await connectError(
      orders.createReview({ productId, rating: 5, comment: `ok${NUL}` }, bearer(app.customerToken)),
    );
    expect(review.code).toBe(Code.InvalidArgument);
    expect(review.rawMessage).toContain("comment");
    // Clients replace a lone surrogate before it leaves them; a hand-written body can carry one.
    const raw = await fetch(`${app.baseUrl}/ecommerce.inventory.v1.InventoryService/CreateProduct`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${app.adminToken}` },
      body: '{"name":"Bowl","description":"d\\ud800","priceCents":"100","stock":1}',
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("description"),
    });
  });

  it("gRPC: a NUL is INVALID_ARGUMENT", async () => {
    const client = new grpc.Client(new URL(app.baseUrl).host, grpc.credentials.createInsecure());
    try {
      const error = await grpcJsError(
        grpcJsUnary(
          client,
          "/ecommerce.inventory.v1.InventoryService/CreateProduct",
          { input: CreateProductRequestSchema, output: CreateProductResponseSchema },
          { name: `Plate${NUL}`, priceCents: 100n, stock: 1 },
          { authorization: `Bearer ${app.adminToken}` },
        ),
      );
      expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error.details).toContain("name");
    } finally {
      client.close();
    }
  });

  it("changed nothing", async () => {
    expect((await call("GET", `/products/${productId}`)).text).toBe(before);
    const reviews = await call("GET", `/products/${productId}/reviews`);
    expect(reviews.body).toMatchObject({ review_count: 0 });
    const mine = await call("GET", "/orders", { token: app.customerToken });
    expect(mine.body).toMatchObject({ orders: [] });
  });
});
