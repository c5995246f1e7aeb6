/**
 * The orders process of a split deployment dies (SIGKILL) while customers order concurrently, and
 * is started again on the same port (the gateway's ORDERS_URL stays valid) while they keep
 * ordering. Afterwards, with the API as the only source of truth:
 * - no stock leaked or appeared: for every product, its initial stock equals its current stock plus
 *   the quantities of its non-cancelled orders, once unconfirmed reservations have expired
 *   (RESERVATION_TIMEOUT_SECONDS is 3 here);
 * - the statistics equal what the orders API says, for every user and for the store, within 10 s;
 * - no request was a 500: while orders is down the gateway answers 503 problem+json.
 */
import { randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceUrls } from "./support/deployment.js";
import type { HttpResult } from "./support/http-call.js";
import { type OrderJson, orderApi } from "./support/order-json.js";
import type { ProductJson } from "./support/product-json.js";
import {
  countProducts,
  expectStoreStats,
  expectUserOrderStats,
  pollUntil,
  sameJson,
  storeStatsTruth,
  userStatsTruth,
} from "./support/statistics-json.js";
import { type TestApp, topologyTestApp } from "./support/test-app.js";
import { type SplitTopology, startSplitTopology } from "./support/topologies.js";

const RESERVATION_TIMEOUT_SECONDS = 3;
const PRODUCTS = 20;
const INITIAL_STOCK = 10_000;
const CUSTOMERS = 12;
const WORKERS = 24;
/** How long customers order before the kill, and again after the restart. */
const PHASE_MS = 3000;
/** A customer cancels about one order in this many right after placing it. */
const CANCEL_ONE_IN = 6;

type Phase = "before" | "outage" | "after";

interface Outcome {
  phase: Phase;
  what: "order" | "cancel";
  /** The HTTP status, or 0 when the gateway could not be reached at all. */
  status: number;
  contentType: string;
  retryAfter: string | null;
  code: string | undefined;
  text: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(Array.isArray(serviceUrls()))("split: the orders process killed mid-traffic", () => {
  let topology: SplitTopology;
  let app: TestApp;
  const api = orderApi(() => app);

  beforeAll(async () => {
    topology = await startSplitTopology({ RESERVATION_TIMEOUT_SECONDS: String(RESERVATION_TIMEOUT_SECONDS) });
    app = await topologyTestApp(topology);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("leaks no stock, keeps exact statistics and never answers 500", { timeout: 120_000 }, async () => {
    const products: ProductJson[] = await Promise.all(
      Array.from({ length: PRODUCTS }, (_, index) =>
        api.createProduct({ price_cents: 100 + 37 * index, stock: INITIAL_STOCK }),
      ),
    );
    const customers = await Promise.all(Array.from({ length: CUSTOMERS }, () => api.newCustomer("kill")));

    const outcomes: Outcome[] = [];
    let phase: Phase = "before";
    let running = true;
    const record = (what: Outcome["what"], at: Phase, result: HttpResult | Error): void => {
      const outcome: Outcome =
        result instanceof Error
          ? {
              phase: at,
              what,
              status: 0,
              contentType: "",
              retryAfter: null,
              code: undefined,
              text: result.message,
            }
          : {
              phase: at,
              what,
              status: result.status,
              contentType: result.headers.get("content-type") ?? "",
              retryAfter: result.headers.get("retry-after"),
              code: (result.body as { code?: string } | undefined)?.code,
              text: result.text.slice(0, 300),
            };
      outcomes.push(outcome);
    };
    const attempt = (promise: Promise<HttpResult>) => promise.catch((error: unknown) => error as Error);

    async function customerLoop(): Promise<void> {
      while (running) {
        const customer = customers[randomInt(customers.length)] as (typeof customers)[number];
        const picked = new Set(Array.from({ length: randomInt(1, 4) }, () => randomInt(PRODUCTS)));
        const items = [...picked].map((index) => ({
          product_id: (products[index] as ProductJson).id,
          quantity: randomInt(1, 4),
        }));
        const at = phase;
        const placed = await attempt(api.postOrder(customer.token, { items }));
        record("order", at, placed);
        if (placed instanceof Error || placed.status !== 201) {
          await sleep(20); // failures come back at once: do not spin on them
          continue;
        }
        if (randomInt(CANCEL_ONE_IN) === 0) {
          const { id } = placed.body as OrderJson;
          record("cancel", phase, await attempt(api.setStatus(customer.token, id, "cancelled", "PATCH")));
        }
      }
    }

    const traffic = Promise.all(Array.from({ length: WORKERS }, () => customerLoop()));
    await sleep(PHASE_MS);
    phase = "outage";
    await topology.processes.orders.stop("SIGKILL");
    await sleep(500);
    const restartStarted = Date.now();
    await topology.restart("orders");
    const outageMs = Date.now() - restartStarted + 500;
    phase = "after";
    await sleep(PHASE_MS);
    running = false;
    await traffic;

    const count = (filter: (outcome: Outcome) => boolean) => outcomes.filter(filter).length;
    const ordersIn = (at: Phase) => ({
      created: count((o) => o.what === "order" && o.phase === at && o.status === 201),
      failed: count((o) => o.what === "order" && o.phase === at && o.status !== 201),
    });
    const summary = {
      outageMs,
      orders: { before: ordersIn("before"), outage: ordersIn("outage"), after: ordersIn("after") },
      cancels: count((o) => o.what === "cancel" && o.status === 200),
    };
    console.log("orders process killed mid-traffic:", JSON.stringify(summary));

    // Every failure is a 503 problem+json with Retry-After; nothing else, and never a 500.
    const unexpected = outcomes.filter(
      (o) =>
        !(o.what === "order" && o.status === 201) &&
        !(o.what === "cancel" && o.status === 200) &&
        !(
          o.status === 503 &&
          o.contentType.startsWith("application/problem+json") &&
          o.code === "unavailable" &&
          /^\d+$/.test(o.retryAfter ?? "")
        ),
    );
    expect.soft(unexpected.slice(0, 5), `${unexpected.length} unexpected answers`).toEqual([]);
    expect(summary.orders.before.created).toBeGreaterThan(20);
    expect(summary.orders.after.created).toBeGreaterThan(20);
    expect(summary.orders.outage.failed, "no request met the outage").toBeGreaterThan(0);

    // The truth, from the API: every order, including those whose answer was lost in the crash.
    const everyOrder = (): Promise<OrderJson[]> => api.listAll(app.adminToken, { page_size: "100" });
    const orders = await everyOrder();
    expect(orders.length).toBeGreaterThanOrEqual(count((o) => o.what === "order" && o.status === 201));
    const held = new Map<string, number>();
    for (const order of orders.filter((o) => o.status !== "cancelled"))
      for (const item of order.items)
        held.set(item.product_id, (held.get(item.product_id) ?? 0) + item.quantity);
    const expectedStock = products.map((product) => INITIAL_STOCK - (held.get(product.id) ?? 0));

    // Stock taken for orders that were never stored comes back once their reservation expires.
    const stock = await pollUntil(
      () => Promise.all(products.map((product) => api.stockOf(product.id))),
      (current) => sameJson(current, expectedStock),
      { timeoutMs: RESERVATION_TIMEOUT_SECONDS * 1000 + 5000, intervalMs: 200 },
    );
    expect
      .soft(
        products.map((product, index) => ({
          product: product.name,
          initial: INITIAL_STOCK,
          current: stock.value[index],
          inOrders: held.get(product.id) ?? 0,
        })),
      )
      .toEqual(
        products.map((product, index) => ({
          product: product.name,
          initial: INITIAL_STOCK,
          current: expectedStock[index],
          inOrders: held.get(product.id) ?? 0,
        })),
      );
    // Nothing changed the orders meanwhile.
    expect(await everyOrder()).toEqual(orders);

    // Statistics equal the orders API, per user and for the store, within 10 s.
    const userIds = [...new Set(orders.map((order) => order.user_id))];
    const truth = {
      store: storeStatsTruth(orders, await countProducts((path) => api.call("GET", path))),
      users: userIds.map((userId) =>
        userStatsTruth(
          userId,
          orders.filter((order) => order.user_id === userId),
        ),
      ),
    };
    const converged = await pollUntil(
      async () => ({
        store: expectStoreStats(await api.call("GET", "/stats/user", { token: app.adminToken })),
        users: await Promise.all(
          userIds.map(async (userId) =>
            expectUserOrderStats(
              await api.call("GET", `/stats/user-orders/${encodeURIComponent(userId)}`, {
                token: app.adminToken,
              }),
            ),
          ),
        ),
      }),
      (seen) => sameJson(seen, truth),
      { timeoutMs: 10_000, intervalMs: 250 },
    );
    expect(converged.value).toEqual(truth);
  });
});
