/**
 * `npm run stats:rebuild`: the projection is emptied and rebuilt from the event stream, ending
 * equal to the live figures — even when the projection had been corrupted.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runChildToExit } from "./support/child-app.js";
import { hasServiceUrls } from "./support/deployment.js";
import { startTestApp, TEST_SECRET, type TestApp } from "./support/test-app.js";

const runRebuild = (env: Record<string, string>) => runChildToExit(env, "src/cli/rebuild-statistics.ts");

describe.skipIf(!hasServiceUrls())("statistics rebuild", () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp("services");
  });
  afterAll(async () => {
    await app?.stop();
  });

  const get = async (path: string) =>
    (await (
      await fetch(`${app.baseUrl}${path}`, { headers: { authorization: `Bearer ${app.adminToken}` } })
    ).json()) as Record<string, unknown>;

  async function settle(
    expectation: (user: Record<string, unknown>, store: Record<string, unknown>) => boolean,
  ) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const user = await get("/stats/user-orders/rebuild-customer");
      const store = await get("/stats/user");
      if (expectation(user, store)) return { user, store };
      if (Date.now() > deadline) throw new Error(`not settled: ${JSON.stringify({ user, store })}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it("ends equal to the live projection, from the stream alone", async () => {
    const admin = { authorization: `Bearer ${app.adminToken}`, "content-type": "application/json" };
    const customer = {
      authorization: `Bearer ${await app.token("rebuild-customer", "customer")}`,
      "content-type": "application/json",
    };
    const product = (await (
      await fetch(`${app.baseUrl}/products`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ name: "Bowl", price_cents: 1500, stock: 100 }),
      })
    ).json()) as { id: string };
    const orderIds: string[] = [];
    for (let index = 0; index < 6; index++) {
      const order = (await (
        await fetch(`${app.baseUrl}/orders`, {
          method: "POST",
          headers: customer,
          body: JSON.stringify({ items: [{ product_id: product.id, quantity: index + 1 }] }),
        })
      ).json()) as { id: string };
      orderIds.push(order.id);
    }
    await fetch(`${app.baseUrl}/orders/${orderIds[0]}`, {
      method: "PATCH",
      headers: customer,
      body: JSON.stringify({ status: "cancelled" }),
    });

    // Truth: 6 orders, 1 cancelled (1 unit), spent = (2+3+4+5+6) × 1500.
    const live = await settle((user) => user.total_orders === 6 && user.cancelled_orders === 1);
    expect(live.user.total_spent_cents).toBe(20 * 1500);

    // Corrupt the projection behind its back; a rebuild must not keep any of it.
    const sql = postgres(app.databaseUrl as string, { max: 1, onnotice: () => {} });
    await sql`update statistics.user_order_stats set total_orders = 999, total_spent_cents = 1 where user_id = 'rebuild-customer'`;
    await sql`update statistics.store_totals set total_orders = total_orders + 500, total_products = 77`;
    await sql.end();
    expect((await get("/stats/user-orders/rebuild-customer")).total_orders).toBe(999);

    const rebuilt = await runRebuild({
      DATABASE_URL: app.databaseUrl as string,
      NATS_URL: process.env.NATS_URL as string,
      NAMESPACE: app.namespace,
      JWT_SECRET: TEST_SECRET,
    });
    expect(rebuilt.stderr).toBe("");
    expect(rebuilt.code).toBe(0);

    const after = await settle(
      (user, store) =>
        user.total_orders === 6 &&
        store.total_orders === live.store.total_orders &&
        store.total_products === live.store.total_products,
    );
    expect(after.user).toEqual(live.user);
    expect(after.store).toEqual(live.store);
  }, 60_000);

  it("refuses to run without NATS, in one line naming NATS_URL", async () => {
    const result = await runRebuild({
      DATABASE_URL: app.databaseUrl as string,
      NATS_URL: "",
      JWT_SECRET: TEST_SECRET,
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("NATS_URL");
  });
});
