/**
 * Split into four processes, the gateway sends the orders its callers place while a call is on
 * its way in one CreateOrders call, and every caller still gets what their own call would have
 * got: their own order (never another caller's), or their own refusal — 401 for a bad token, 403
 * for ordering as someone else, 404 for an unknown product, 409 out of stock, an Idempotency-Key
 * honoured per caller — with no oversell. docs/architecture.md, "An order".
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { mintToken } from "../src/platform/auth/index.js";
import { serviceUrls, testToken } from "./support/deployment.js";
import { sampleValue } from "./support/prometheus-text.js";
import { type SplitTopology, startSplitTopology } from "./support/topologies.js";

const CREATE_ORDERS = { service: "ecommerce.orders.v1.OrderBatchService", method: "CreateOrders" };
const CREATE_ORDER = { service: "ecommerce.orders.v1.OrderService", method: "CreateOrder" };

interface Attempt {
  kind: "buyer" | "bad token" | "as another" | "unknown product" | "same key";
  /** The `sub` the order must belong to when created. */
  sub: string;
  token: string;
  body: unknown;
  idempotencyKey?: string;
}

interface Answer {
  attempt: Attempt;
  status: number;
  body: Record<string, unknown>;
}

describe.skipIf(Array.isArray(serviceUrls()))("split: concurrent orders from the gateway", () => {
  let topology: SplitTopology;

  /** Calls the orders process served, all codes: single CreateOrder calls and batches. */
  const servedCalls = async () => {
    const text = await (await fetch(`${topology.processes.orders.url}/metrics`)).text();
    const count = (labels: Record<string, string>) =>
      sampleValue(text, "rpc_server_requests_total", labels) ?? 0;
    return { single: count(CREATE_ORDER), batches: count(CREATE_ORDERS) };
  };

  const post = async (path: string, token: string, json: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${topology.baseUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(json),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it("go in fewer calls than orders, each caller answered as themselves, no oversell", async () => {
    topology = await startSplitTopology();
    try {
      await placeMixedOrders();
    } finally {
      await topology.stop();
    }
  }, 120_000);

  async function placeMixedOrders(): Promise<void> {
    const admin = await testToken("order-batch-admin", "admin");
    const product = async (stock: number) => {
      const created = await post("/products", admin, { name: "Batched plate", price_cents: 500, stock });
      expect(created.status).toBe(201);
      return created.body.id as string;
    };
    const scarce = await product(30);
    const plenty = await product(1_000);
    const line = (id: string) => ({ items: [{ product_id: id, quantity: 1 }] });
    const customer = async (kind: Attempt["kind"], body: unknown, extra: Partial<Attempt> = {}) => {
      const sub = `${kind.replace(" ", "-")}-${randomUUID()}`;
      return { kind, sub, token: await testToken(sub, "customer"), body, ...extra } as Attempt;
    };
    const attempts: Attempt[] = [
      ...(await Promise.all(Array.from({ length: 60 }, () => customer("buyer", line(scarce))))),
      ...(await Promise.all(
        Array.from({ length: 10 }, async () => ({
          ...(await customer("bad token", line(plenty))),
          token: await mintToken("a-secret-this-platform-never-saw-0123456789", {
            sub: "intruder",
            role: "customer",
          }),
        })),
      )),
      ...(await Promise.all(
        Array.from({ length: 10 }, () =>
          customer("as another", { ...line(plenty), user_id: "someone-else" }),
        ),
      )),
      ...(await Promise.all(
        Array.from({ length: 10 }, () => customer("unknown product", line(randomUUID()))),
      )),
    ];
    // Five customers each send one order twice at once, under one Idempotency-Key.
    for (let index = 0; index < 5; index++) {
      const twice = await customer("same key", line(plenty), { idempotencyKey: randomUUID() });
      attempts.push(twice, { ...twice });
    }
    // Interleaved, so that every kind shares batches with the others.
    attempts.sort(() => Math.random() - 0.5);
    const before = await servedCalls();

    const answers: Answer[] = await Promise.all(
      attempts.map(async (attempt) => ({
        attempt,
        ...(await post(
          "/orders",
          attempt.token,
          attempt.body,
          attempt.idempotencyKey === undefined ? {} : { "idempotency-key": attempt.idempotencyKey },
        )),
      })),
    );

    const of = (kind: Attempt["kind"]) => answers.filter((answer) => answer.attempt.kind === kind);
    // Every order created is its own caller's.
    for (const answer of answers.filter(({ status }) => status === 201))
      expect(answer.body.user_id).toBe(answer.attempt.sub);

    const buyers = of("buyer");
    expect(buyers.filter(({ status }) => status === 201)).toHaveLength(30);
    const refused = buyers.filter(({ status }) => status === 409);
    expect(refused).toHaveLength(30);
    for (const { body } of refused)
      expect(body).toMatchObject({ code: "failed_precondition", reason: "OUT_OF_STOCK" });
    for (const { status, body } of of("bad token")) {
      expect(status).toBe(401);
      expect(body).toMatchObject({ code: "unauthenticated" });
    }
    for (const { status, body } of of("as another")) {
      expect(status).toBe(403);
      expect(body).toMatchObject({ code: "permission_denied", reason: "NOT_YOUR_ORDER" });
    }
    for (const { status, body } of of("unknown product")) {
      expect(status).toBe(404);
      expect(body).toMatchObject({ code: "not_found" });
    }
    // Per key: one order, answered to both, or the second told the first is still running.
    const byKey = new Map<string | undefined, Answer[]>();
    for (const answer of of("same key"))
      byKey.set(answer.attempt.idempotencyKey, [...(byKey.get(answer.attempt.idempotencyKey) ?? []), answer]);
    expect(byKey.size).toBe(5);
    for (const pair of byKey.values()) {
      const created = pair.filter(({ status }) => status === 201);
      expect(created.length).toBeGreaterThanOrEqual(1);
      if (created.length === 2) expect(created[0]?.body.id).toBe(created[1]?.body.id);
      else
        expect(pair.find(({ status }) => status !== 201)?.body).toMatchObject({
          code: "aborted",
          reason: "IDEMPOTENCY_KEY_IN_USE",
        });
    }

    const stock = (await (await fetch(`${topology.baseUrl}/products/${scarce}`)).json()) as { stock: number };
    expect(stock.stock).toBe(0);

    const after = await servedCalls();
    const batches = after.batches - before.batches;
    const single = after.single - before.single;
    expect(batches).toBeGreaterThanOrEqual(1);
    // Every order went in one call or another, in far fewer calls than orders.
    expect(batches + single).toBeLessThan(answers.length / 2);
  }
});
