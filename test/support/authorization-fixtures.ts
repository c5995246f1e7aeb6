/**
 * Fixtures for the authorization matrix, built through the public REST API (and StockService with
 * the service credential for reservations) so that every allowed cell can really succeed: a product
 * with plenty of stock and a discount in force, a pending order of the owner and one of the other
 * customer, a review by the owner; and makers of fresh ones for cells whose allowed call uses its
 * fixture up (a delete, a cancel) — every caller of such a row gets its own, so a refusal never
 * depends on what an earlier cell did.
 */
import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { expect } from "vitest";
import { StockService } from "../../src/gen/ecommerce/inventory/v1/stock_service_pb.js";
import { OTHER_CUSTOMER_ID } from "./authorization-matrix.js";
import { httpCall } from "./http-call.js";
import type { OrderJson } from "./order-json.js";
import type { ProductJson } from "./product-json.js";
import type { ReviewJson } from "./review-json.js";
import type { TestApp } from "./test-app.js";

export interface Fixtures {
  /** The owner of the fixtures: the `sub` of TestApp.customerToken. */
  ownerId: string;
  otherId: string;
  /** In stock (1,000,000), with `discountId` in force on it. */
  product: ProductJson;
  discountId: string;
  /** The owner's pending order of one unit of `product`. */
  order: OrderJson;
  /** The other customer's pending order. */
  otherOrder: OrderJson;
  /** The owner's review of `product`. */
  review: ReviewJson;
  freshProduct(): Promise<ProductJson>;
  /** A discount in force on `product`. */
  freshDiscount(): Promise<string>;
  /** A new pending order of the owner. */
  freshPendingOrder(): Promise<OrderJson>;
  /** A new review by the owner, of a new product (one review per user and product). */
  freshReview(): Promise<ReviewJson>;
  /** The order id of a new, live stock reservation (one unit of `product`). */
  freshReservation(): Promise<string>;
}

/** The `sub` claim of a JWT (read, not verified: the token is the test's own). */
export function subjectOf(token: string): string {
  const payload = token.split(".")[1] ?? "";
  return (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub: string }).sub;
}

export async function buildFixtures(app: TestApp): Promise<Fixtures> {
  const ownerId = subjectOf(app.customerToken);
  const otherToken = await app.token(OTHER_CUSTOMER_ID, "customer");
  const stock = createClient(
    StockService,
    createConnectTransport({ baseUrl: app.baseUrl, httpVersion: "1.1" }),
  );

  async function post<T>(path: string, token: string, json: unknown): Promise<T> {
    const result = await httpCall(app.baseUrl, "POST", path, { token, json });
    expect(result.status, `fixture POST ${path}: ${result.text}`).toBe(201);
    return result.body as T;
  }
  const freshProduct = () =>
    post<ProductJson>("/products", app.adminToken, {
      name: `Matrix ${randomUUID().slice(0, 8)}`,
      description: "authorization matrix fixture",
      category: "matrix",
      price_cents: 1000,
      stock: 1_000_000,
    });
  const product = await freshProduct();
  const freshDiscount = async () =>
    (
      await post<{ id: string }>("/discounts", app.adminToken, {
        name: `Matrix ${randomUUID().slice(0, 8)}`,
        percent_off: 10,
        product_ids: [product.id],
        starts_at: new Date(Date.now() - 3_600_000).toISOString(),
        ends_at: new Date(Date.now() + 86_400_000).toISOString(),
      })
    ).id;
  const orderBy = (token: string) =>
    post<OrderJson>("/orders", token, { items: [{ product_id: product.id, quantity: 1 }] });
  const reviewBy = (token: string, productId: string) =>
    post<ReviewJson>(`/products/${productId}/reviews`, token, { rating: 4, comment: "matrix fixture" });

  const discountId = await freshDiscount();
  const order = await orderBy(app.customerToken);
  const otherOrder = await orderBy(otherToken);
  const review = await reviewBy(app.customerToken, product.id);
  return {
    ownerId,
    otherId: OTHER_CUSTOMER_ID,
    product,
    discountId,
    order,
    otherOrder,
    review,
    freshProduct,
    freshDiscount,
    freshPendingOrder: () => orderBy(app.customerToken),
    freshReview: async () => reviewBy(app.customerToken, (await freshProduct()).id),
    freshReservation: async () => {
      const orderId = `matrix-${randomUUID()}`;
      await stock.reserveStock(
        { orderId, lines: [{ productId: product.id, quantity: 1 }] },
        { headers: { authorization: `Bearer ${app.serviceToken}` } },
      );
      return orderId;
    },
  };
}
