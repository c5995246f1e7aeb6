/**
 * The admin RPC `StatisticsService.RebuildStatistics` (the same rebuild as `npm run stats:rebuild`):
 * on JetStream the projection is emptied and replayed from the stream, ending equal to the live
 * figures even after it had been corrupted; only an admin may call it; on the in-process bus there
 * is no stream to replay, so it is refused with failed_precondition and changes nothing.
 */
import { Code } from "@connectrpc/connect";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorReasonSchema } from "../src/gen/ecommerce/common/v1/error_details_pb.js";
import { StatisticsService } from "../src/gen/ecommerce/statistics/v1/statistics_service_pb.js";
import { bearer, connectClient, connectError } from "./support/connect-call.js";
import { availableSetups, startTestApp, type TestApp } from "./support/test-app.js";

/** What the Connect API says for one user and for the store, in comparable plain values. */
async function figures(app: TestApp, userId: string) {
  const client = connectClient(StatisticsService, app);
  const user = await client.getUserOrderStatistics({ userId }, bearer(app.adminToken));
  const store = await client.getUserStatistics({}, bearer(app.adminToken));
  return {
    user: {
      totalOrders: user.totalOrders,
      cancelledOrders: user.cancelledOrders,
      totalSpentCents: user.totalSpentCents,
      ordersByHour: user.ordersByHour.map(({ hour, count }) => ({ hour, count })),
    },
    store: {
      totalUsers: store.totalUsers,
      totalProducts: store.totalProducts,
      totalOrders: store.totalOrders,
      revenueCents: store.revenueCents,
    },
  };
}
type Figures = Awaited<ReturnType<typeof figures>>;

async function settle(app: TestApp, userId: string, done: (seen: Figures) => boolean): Promise<Figures> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const seen = await figures(app, userId);
    if (done(seen)) return seen;
    if (Date.now() > deadline) {
      throw new Error(`not settled: ${JSON.stringify(seen, (_, v) => (typeof v === "bigint" ? `${v}` : v))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One product and `count` orders of `userId` (quantities 1…count), the first one cancelled. */
async function placeOrders(app: TestApp, userId: string, count: number): Promise<void> {
  const json = "application/json";
  const admin = { authorization: `Bearer ${app.adminToken}`, "content-type": json };
  const customer = { authorization: `Bearer ${await app.token(userId, "customer")}`, "content-type": json };
  const product = (await (
    await fetch(`${app.baseUrl}/products`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ name: "Bowl", price_cents: 1500, stock: 1000 }),
    })
  ).json()) as { id: string };
  const ids: string[] = [];
  for (let quantity = 1; quantity <= count; quantity++) {
    const response = await fetch(`${app.baseUrl}/orders`, {
      method: "POST",
      headers: customer,
      body: JSON.stringify({ items: [{ product_id: product.id, quantity }] }),
    });
    expect(response.status).toBe(201);
    ids.push(((await response.json()) as { id: string }).id);
  }
  const cancel = await fetch(`${app.baseUrl}/orders/${ids[0]}`, {
    method: "PATCH",
    headers: customer,
    body: JSON.stringify({ status: "cancelled" }),
  });
  expect(cancel.status).toBe(200);
}

describe.each(availableSetups())("RebuildStatistics authorization (%s)", (setup) => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(setup);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("is permission_denied to a customer and unauthenticated without a token", async () => {
    const client = connectClient(StatisticsService, app);
    const denied = await connectError(client.rebuildStatistics({}, bearer(app.customerToken)));
    expect(denied.code).toBe(Code.PermissionDenied);
    const anonymous = await connectError(client.rebuildStatistics({}));
    expect(anonymous.code).toBe(Code.Unauthenticated);
    const forged = await connectError(client.rebuildStatistics({}, bearer(`${app.adminToken}x`)));
    expect(forged.code).toBe(Code.Unauthenticated);
  });
});

describe("RebuildStatistics on the in-process bus (embedded)", () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp("embedded");
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("is failed_precondition (no stream to replay) and leaves the projection as it is", async () => {
    await placeOrders(app, "embedded-customer", 3);
    const live = await settle(app, "embedded-customer", (seen) => seen.user.cancelledOrders === 1);
    expect(live.user.totalOrders).toBe(3);

    const error = await connectError(
      connectClient(StatisticsService, app).rebuildStatistics({}, bearer(app.adminToken)),
    );
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.message).toMatch(/no event stream|no stream|NATS/i);
    expect(error.findDetails(ErrorReasonSchema)[0]?.reason).toBe("NO_EVENT_STREAM");

    expect(await figures(app, "embedded-customer")).toEqual(live);
  });
});

const jetStreamSetups = availableSetups().filter((setup) => setup !== "embedded");

describe.each(jetStreamSetups)("RebuildStatistics on JetStream (%s)", (setup) => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(setup);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("ends equal to the live projection after it was corrupted, from the stream alone", async () => {
    const userId = "rpc-rebuild-customer";
    await placeOrders(app, userId, 6);
    // Truth: 6 orders, the first (1 unit) cancelled, spent = (2+3+4+5+6) × 1500.
    const live = await settle(
      app,
      userId,
      (seen) => seen.user.totalOrders === 6 && seen.user.cancelledOrders === 1,
    );
    expect(live.user.totalSpentCents).toBe(20n * 1500n);

    // Corrupt the projection behind its back and lose part of it; the rebuild must keep none of it.
    const sql = postgres(app.databaseUrl as string, { max: 1, onnotice: () => {} });
    try {
      await sql`update statistics.user_order_stats set total_orders = 999, total_spent_cents = 1 where user_id = ${userId}`;
      await sql`delete from statistics.user_orders_by_hour where user_id = ${userId}`;
      await sql`update statistics.store_totals set total_orders = total_orders + 500, total_products = 77`;
    } finally {
      await sql.end();
    }
    const corrupted = await figures(app, userId);
    expect(corrupted.user.totalOrders).toBe(999);
    expect(corrupted.store.totalProducts).toBe(77);

    const response = await connectClient(StatisticsService, app).rebuildStatistics(
      {},
      bearer(app.adminToken),
    );
    expect(response.$typeName).toBe("ecommerce.statistics.v1.RebuildStatisticsResponse");

    const rebuilt = await settle(
      app,
      userId,
      (seen) =>
        seen.user.totalOrders === live.user.totalOrders &&
        seen.user.cancelledOrders === live.user.cancelledOrders &&
        seen.store.totalOrders === live.store.totalOrders &&
        seen.store.totalProducts === live.store.totalProducts,
    );
    expect(rebuilt).toEqual(live);
  }, 60_000);
});
