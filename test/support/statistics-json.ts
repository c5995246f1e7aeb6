/**
 * Statistics as docs/api.md defines them, the truth they must equal (computed from the orders and
 * products APIs, never from the projection), and a bounded poll for eventually consistent reads.
 */
import { expect } from "vitest";
import type { HttpResult } from "./http-call.js";
import type { OrderJson } from "./order-json.js";
import type { ProductListJson } from "./product-json.js";

export interface HourCountJson {
  hour: number;
  count: number;
}

export interface UserOrderStatsJson {
  user_id: string;
  total_orders: number;
  orders_by_hour: HourCountJson[];
  cancelled_orders: number;
  total_spent_cents: number;
}

export interface StoreStatsJson {
  total_users: number;
  total_products: number;
  total_orders: number;
  revenue_cents: number;
}

const USER_KEYS = ["cancelled_orders", "orders_by_hour", "total_orders", "total_spent_cents", "user_id"];
const STORE_KEYS = ["revenue_cents", "total_orders", "total_products", "total_users"];

const isCount = (value: unknown) => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

/** 200, JSON, exactly the documented keys, integer figures, 24 buckets in hour order 0..23. */
export function expectUserOrderStats(result: HttpResult): UserOrderStatsJson {
  expect(result.status, result.text).toBe(200);
  expect(result.headers.get("content-type")).toMatch(/^application\/json\b/);
  const body = result.body as UserOrderStatsJson;
  expect(Object.keys(body).sort()).toEqual(USER_KEYS);
  expect(body.user_id).toBeTypeOf("string");
  for (const field of ["total_orders", "cancelled_orders", "total_spent_cents"] as const)
    expect(isCount(body[field]), `${field} ${body[field]}`).toBe(true);
  expect(body.orders_by_hour).toHaveLength(24);
  body.orders_by_hour.forEach((bucket, index) => {
    expect(Object.keys(bucket).sort()).toEqual(["count", "hour"]);
    expect(bucket.hour).toBe(index);
    expect(isCount(bucket.count), `count ${bucket.count}`).toBe(true);
  });
  expect(body.orders_by_hour.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(body.total_orders);
  expect(body.cancelled_orders).toBeLessThanOrEqual(body.total_orders);
  return body;
}

export function expectStoreStats(result: HttpResult): StoreStatsJson {
  expect(result.status, result.text).toBe(200);
  expect(result.headers.get("content-type")).toMatch(/^application\/json\b/);
  const body = result.body as StoreStatsJson;
  expect(Object.keys(body).sort()).toEqual(STORE_KEYS);
  for (const field of STORE_KEYS as (keyof StoreStatsJson)[])
    expect(isCount(body[field]), `${field} ${body[field]}`).toBe(true);
  return body;
}

export function zeroHours(): HourCountJson[] {
  return Array.from({ length: 24 }, (_, hour) => ({ hour, count: 0 }));
}

/** What GET /stats/user-orders/:user_id must say, given every order of that user. */
export function userStatsTruth(userId: string, orders: OrderJson[]): UserOrderStatsJson {
  const hours = zeroHours();
  for (const order of orders) {
    expect(order.user_id).toBe(userId);
    const bucket = hours[new Date(order.created_at).getUTCHours()];
    if (bucket !== undefined) bucket.count++;
  }
  const live = orders.filter((order) => order.status !== "cancelled");
  return {
    user_id: userId,
    total_orders: orders.length,
    orders_by_hour: hours,
    cancelled_orders: orders.length - live.length,
    total_spent_cents: live.reduce((sum, order) => sum + order.total_cents, 0),
  };
}

/** What GET /stats/user must say, given every order in the store and the product count. */
export function storeStatsTruth(orders: OrderJson[], totalProducts: number): StoreStatsJson {
  return {
    total_users: new Set(orders.map((order) => order.user_id)).size,
    total_products: totalProducts,
    total_orders: orders.length,
    revenue_cents: orders
      .filter((order) => order.status !== "cancelled")
      .reduce((sum, order) => sum + order.total_cents, 0),
  };
}

/** Counts every product over all pages of GET /products. */
export async function countProducts(get: (path: string) => Promise<HttpResult>): Promise<number> {
  let count = 0;
  let pageToken = "";
  let pages = 0;
  do {
    const query = new URLSearchParams({ page_size: "100" });
    if (pageToken !== "") query.set("page_token", pageToken);
    const result = await get(`/products?${query}`);
    expect(result.status, result.text).toBe(200);
    const page = result.body as ProductListJson;
    count += page.products.length;
    pageToken = page.next_page_token;
    pages++;
    expect(pages, "paging does not end").toBeLessThan(500);
  } while (pageToken !== "");
  return count;
}

export interface Converged<T> {
  value: T;
  elapsedMs: number;
  matched: boolean;
}

/**
 * Reads every `intervalMs` until `matches(value)` or `timeoutMs` passes; returns the last value,
 * how long it took and whether it matched. The caller asserts on it (so a failure shows a diff).
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  matches: (value: T) => boolean,
  { timeoutMs = 5000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<Converged<T>> {
  const start = performance.now();
  let value = await read();
  while (!matches(value) && performance.now() - start < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    value = await read();
  }
  return { value, elapsedMs: performance.now() - start, matched: matches(value) };
}

/** Deep equality of plain JSON values (for polling until a read equals the truth). */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, inner]) => [key, canonical(inner)]),
    );
  return value;
}
