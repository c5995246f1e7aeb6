/**
 * `npm run seed` (src/cli/seed.ts): a demo shop through the public API of a running platform —
 * at least 20 products in several categories, discounts, dozens of customers, 100 orders in every
 * status, verified reviews — and a second run adds a second batch instead of failing. With only an
 * admin token it still seeds, without reviews; a platform that is not there fails it in one line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runChildToExit } from "./support/child-app.js";
import { TEST_SECRET } from "./support/deployment.js";
import { startTestApp, type TestApp } from "./support/test-app.js";

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp("embedded");
});
afterAll(() => app?.stop());

function seed(...args: string[]) {
  return runChildToExit({ JWT_SECRET: TEST_SECRET }, "src/cli/seed.ts", ["--url", app.baseUrl, ...args]);
}

async function get<T>(path: string): Promise<T> {
  const response = await fetch(app.baseUrl + path, {
    headers: { authorization: `Bearer ${app.adminToken}` },
  });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

/** Every item of a paged list. */
async function all<T>(path: string, key: string): Promise<T[]> {
  const items: T[] = [];
  let token = "";
  do {
    const separator = path.includes("?") ? "&" : "?";
    const page = await get<Record<string, unknown>>(`${path}${separator}page_size=100&page_token=${token}`);
    items.push(...(page[key] as T[]));
    token = page.next_page_token as string;
  } while (token !== "");
  return items;
}

async function ordersByStatus(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const status of ["pending", "paid", "shipped", "delivered", "cancelled"]) {
    counts[status] = (await all(`/orders?status=${status}`, "orders")).length;
  }
  return counts;
}

describe("npm run seed", () => {
  it("fills the shop through the API, and a second run adds a second batch", async () => {
    const first = await seed();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/seeded batch \w+ in/);

    const products = await all<{ id: string; category: string }>("/products", "products");
    expect(products.length).toBeGreaterThanOrEqual(20);
    expect(new Set(products.map((product) => product.category)).size).toBeGreaterThanOrEqual(4);
    expect((await all("/discounts", "discounts")).length).toBeGreaterThanOrEqual(3);
    expect((await get<{ products: unknown[] }>("/discounts/products")).products.length).toBeGreaterThan(0);
    expect(await ordersByStatus()).toEqual({
      pending: 100,
      paid: 100,
      shipped: 100,
      delivered: 100,
      cancelled: 100,
    });

    const orders = await all<{ user_id: string }>("/orders", "orders");
    expect(new Set(orders.map((order) => order.user_id)).size).toBeGreaterThanOrEqual(24);
    const reviewed = [];
    for (const product of products) {
      const page = await get<{ reviews: { verified_purchase: boolean }[]; review_count: number }>(
        `/products/${product.id}/reviews?page_size=100`,
      );
      reviewed.push(...page.reviews);
    }
    expect(reviewed.length).toBeGreaterThanOrEqual(50);
    expect(reviewed.every((review) => review.verified_purchase)).toBe(true);

    const second = await seed();
    expect(second.code, second.stderr).toBe(0);
    expect((await all("/products", "products")).length).toBe(products.length * 2);
    expect(await ordersByStatus()).toEqual({
      pending: 200,
      paid: 200,
      shipped: 200,
      delivered: 200,
      cancelled: 200,
    });
  }, 120_000);

  it("seeds with only an admin token, placing orders on the customers' behalf, without reviews", async () => {
    const before = await ordersByStatus();
    const { code, stdout, stderr } = await runChildToExit(
      { JWT_SECRET: "", DATA_DIR: "/nonexistent-seed-data-dir" },
      "src/cli/seed.ts",
      ["--url", app.baseUrl, "--token", app.adminToken, "--customers", "4", "--orders-per-status", "10"],
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("0 reviews");
    const after = await ordersByStatus();
    for (const status of Object.keys(before)) expect(after[status]).toBe((before[status] as number) + 10);
  }, 60_000);

  it("fails in one line when the platform is not there, or no token can be had", async () => {
    const unreachable = await runChildToExit({ JWT_SECRET: TEST_SECRET }, "src/cli/seed.ts", [
      "--url",
      "http://127.0.0.1:1",
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trim().split("\n")).toHaveLength(1);
    expect(unreachable.stderr).toContain("is the platform running?");

    const tokenless = await runChildToExit(
      { JWT_SECRET: "", DATA_DIR: "/nonexistent-seed-data-dir" },
      "src/cli/seed.ts",
      ["--url", app.baseUrl],
    );
    expect(tokenless.code).toBe(1);
    expect(tokenless.stderr).toContain("--token");
  });
});
