/**
 * The REST order as docs/api.md defines it, checks of its wire format (exactly the documented keys,
 * integer money, RFC 3339 UTC times, totals that add up), and small REST helpers the order suites
 * share: products, stock reads, per-test customers, listing every page.
 */
import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import { type HttpCallOptions, type HttpResult, httpCall } from "./http-call.js";
import { expectIntegerMoneyInText, expectProductShape, type ProductJson } from "./product-json.js";
import type { TestApp } from "./test-app.js";

export type OrderStatusName = "pending" | "paid" | "shipped" | "delivered" | "cancelled";

export interface OrderItemJson {
  product_id: string;
  product_name: string;
  quantity: number;
  unit_price_cents: number;
  discount_cents: number;
  line_total_cents: number;
}

export interface OrderJson {
  id: string;
  user_id: string;
  status: OrderStatusName;
  items: OrderItemJson[];
  subtotal_cents: number;
  discount_cents: number;
  total_cents: number;
  created_at: string;
  updated_at: string;
}

export interface OrderListJson {
  orders: OrderJson[];
  next_page_token: string;
}

const ORDER_KEYS = [
  "created_at",
  "discount_cents",
  "id",
  "items",
  "status",
  "subtotal_cents",
  "total_cents",
  "updated_at",
  "user_id",
];
const ITEM_KEYS = [
  "discount_cents",
  "line_total_cents",
  "product_id",
  "product_name",
  "quantity",
  "unit_price_cents",
];
const STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled"];
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

const isInt = (value: unknown) => typeof value === "number" && Number.isSafeInteger(value);

/**
 * Checks one order: its keys, the type of every field, and that the money adds up: each line is
 * quantity × unit price − its discount, and the order's subtotal, discount and total are the sums.
 */
export function expectOrderShape(order: unknown): asserts order is OrderJson {
  expect(order).toBeTypeOf("object");
  expect(Object.keys(order as object).sort()).toEqual(ORDER_KEYS);
  const value = order as OrderJson;
  expect(value.id).toBeTypeOf("string");
  expect(value.id).not.toBe("");
  expect(value.user_id).toBeTypeOf("string");
  expect(STATUSES).toContain(value.status);
  expect(value.created_at).toMatch(RFC3339_UTC);
  expect(value.updated_at).toMatch(RFC3339_UTC);
  expect(Array.isArray(value.items)).toBe(true);
  expect(value.items.length).toBeGreaterThan(0);
  let subtotal = 0;
  let discount = 0;
  for (const item of value.items) {
    expect(Object.keys(item).sort()).toEqual(ITEM_KEYS);
    expect(item.product_id).toBeTypeOf("string");
    expect(item.product_name).toBeTypeOf("string");
    for (const field of ["quantity", "unit_price_cents", "discount_cents", "line_total_cents"] as const)
      expect(isInt(item[field]), `${field} ${item[field]}`).toBe(true);
    expect(item.quantity).toBeGreaterThanOrEqual(1);
    expect(item.discount_cents).toBeGreaterThanOrEqual(0);
    expect(item.line_total_cents).toBe(item.quantity * item.unit_price_cents - item.discount_cents);
    subtotal += item.quantity * item.unit_price_cents;
    discount += item.discount_cents;
  }
  for (const field of ["subtotal_cents", "discount_cents", "total_cents"] as const)
    expect(isInt(value[field]), `${field} ${value[field]}`).toBe(true);
  expect(value.subtotal_cents).toBe(subtotal);
  expect(value.discount_cents).toBe(discount);
  expect(value.total_cents).toBe(subtotal - discount);
  // Each product appears once: repeated products are merged.
  const ids = value.items.map((item) => item.product_id);
  expect(new Set(ids).size).toBe(ids.length);
}

/** A 2xx with a full order body (and integer money on the wire). */
export function expectOrderResult(result: HttpResult, status: number): OrderJson {
  expect(result.status, result.text).toBe(status);
  expect(result.headers.get("content-type")).toMatch(/^application\/json\b/);
  expectOrderShape(result.body);
  expectIntegerMoneyInText(result.text);
  return result.body;
}

/** Items by product id, so assertions do not depend on the order items come back in. */
export function itemsById(order: OrderJson): Record<string, OrderItemJson> {
  return Object.fromEntries(order.items.map((item) => [item.product_id, item]));
}

/** REST helpers bound to one running app. */
export function orderApi(getApp: () => TestApp) {
  const call = (method: string, path: string, options?: HttpCallOptions) =>
    httpCall(getApp().baseUrl, method, path, options);

  async function createProduct(fields: Record<string, unknown> = {}): Promise<ProductJson> {
    const result = await call("POST", "/products", {
      token: getApp().adminToken,
      json: { name: `Product ${randomUUID().slice(0, 8)}`, price_cents: 1000, stock: 10, ...fields },
    });
    expect(result.status, result.text).toBe(201);
    expectProductShape(result.body);
    return result.body;
  }

  async function stockOf(productId: string): Promise<number> {
    const result = await call("GET", `/products/${productId}`);
    expect(result.status, result.text).toBe(200);
    return (result.body as ProductJson).stock;
  }

  /** A customer no other test uses, so list assertions can be exact. */
  async function newCustomer(prefix = "cust"): Promise<{ sub: string; token: string }> {
    const sub = `${prefix}-${randomUUID()}`;
    return { sub, token: await getApp().token(sub, "customer") };
  }

  function postOrder(token: string | undefined, body: unknown, headers?: Record<string, string>) {
    return call("POST", "/orders", { token, json: body, headers });
  }

  function setStatus(token: string, orderId: string, status: string, method: "PUT" | "PATCH" = "PUT") {
    return call(method, `/orders/${orderId}`, { token, json: { status } });
  }

  async function listPage(token: string, query: Record<string, string> = {}): Promise<OrderListJson> {
    const result = await call("GET", `/orders?${new URLSearchParams(query)}`, { token });
    expect(result.status, result.text).toBe(200);
    expect(Object.keys(result.body as object).sort()).toEqual(["next_page_token", "orders"]);
    const page = result.body as OrderListJson;
    expect(page.next_page_token).toBeTypeOf("string");
    for (const order of page.orders) expectOrderShape(order);
    return page;
  }

  /** Follows next_page_token to the end; returns every order, in the order listed. */
  async function listAll(token: string, query: Record<string, string> = {}): Promise<OrderJson[]> {
    const orders: OrderJson[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await listPage(token, pageToken === "" ? query : { ...query, page_token: pageToken });
      orders.push(...page.orders);
      pageToken = page.next_page_token;
      pages++;
      expect(pages, "paging does not end").toBeLessThan(500);
    } while (pageToken !== "");
    return orders;
  }

  return { call, createProduct, stockOf, newCustomer, postOrder, setStatus, listPage, listAll };
}

/** Polls until `read` returns the same value for `stableMs`, or `timeoutMs` passes; returns it. */
export async function settledValue<T>(
  read: () => Promise<T>,
  stableMs = 600,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const next = await read();
    if (next !== value) {
      value = next;
      since = Date.now();
    } else if (Date.now() - since >= stableMs) {
      return value;
    }
  }
  return value;
}

/** Polls until `read` returns `expected` or `timeoutMs` passes; returns the last value. */
export async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}
