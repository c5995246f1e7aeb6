/**
 * A hostile-input sweep (docs/api.md, "Errors", "Limits: what hostile or careless clients get",
 * "Internal services"): thousands of requests that are wrong on purpose, generated from the app's
 * own OpenAPI document (every REST operation) and from the generated service descriptors (every
 * RPC, over Connect JSON, Connect binary and gRPC), each sent as an anonymous caller, a customer,
 * an admin and the platform's service credential. Bad input is never a 5xx: every REST 4xx is
 * problem+json with its status, every Connect error is a proper Connect error, the internal
 * StockService answers nobody but the service credential, and a product the sweep never names
 * reads back exactly as before.
 *
 * A failure lists every offending request (operation, hostile input, callers, the request as sent
 * and the answer); HOSTILE_REPORT_DIR=<dir> also writes them to <dir>/hostile-input-<setup>.txt.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InventoryService } from "../src/gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { StockService } from "../src/gen/ecommerce/inventory/v1/stock_service_pb.js";
import { OrderBatchService } from "../src/gen/ecommerce/orders/v1/order_batch_service_pb.js";
import { OrderService } from "../src/gen/ecommerce/orders/v1/order_service_pb.js";
import { StatisticsService } from "../src/gen/ecommerce/statistics/v1/statistics_service_pb.js";
import type { HostileFixtures } from "./support/hostile-fixtures.js";
import {
  type HostileToken,
  type OpenApiDocument,
  openApiOperations,
  restCases,
} from "./support/hostile-rest.js";
import { rpcCases } from "./support/hostile-rpc.js";
import {
  type Answer,
  type Caller,
  type HostileCase,
  inputKind,
  runSweep,
  slowest,
  tally,
} from "./support/hostile-runner.js";
import {
  allVerdicts,
  connectShapeErrors,
  internalServiceLeaks,
  report,
  restShapeErrors,
  serverErrors,
  serviceCredentialLeaks,
} from "./support/hostile-verdicts.js";
import { httpCall } from "./support/http-call.js";
import { inProcessSetups, startTestApp, TEST_SECRET, type TestApp } from "./support/test-app.js";

const CONCURRENCY = 16;
const SWEEP_TIMEOUT_MS = 240_000;

/** Correctly signed tokens whose claims are hostile: the app trusts them once the signature checks. */
async function hostileTokens(): Promise<HostileToken[]> {
  const key = new TextEncoder().encode(TEST_SECRET);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT({ exp, ...claims }).setProtectedHeader({ alg: "HS256" }).sign(key);
  const tokens: [string, Record<string, unknown>][] = [
    ["customer, sub NUL", { sub: "\u0000", role: "customer" }],
    ["customer, sub with a lone surrogate", { sub: "a\ud800", role: "customer" }],
    ["customer, sub of 10000 chars", { sub: "s".repeat(10_000), role: "customer" }],
    ["customer, numeric sub", { sub: 123, role: "customer" }],
    ["admin, sub NUL", { sub: "\u0000", role: "admin" }],
    ['role "ADMIN"', { sub: "admin-1", role: "ADMIN" }],
    ['exp "never"', { sub: "admin-1", role: "admin", exp: "never" }],
  ];
  return Promise.all(tokens.map(async ([label, claims]) => ({ label, token: await sign(claims) })));
}

async function created(app: TestApp, path: string, token: string, json: unknown): Promise<{ id: string }> {
  const result = await httpCall(app.baseUrl, "POST", path, { token, json });
  expect(result.status, `POST ${path}: ${result.text}`).toBe(201);
  return result.body as { id: string };
}

describe.each(inProcessSetups())("hostile input (%s)", (setup) => {
  let app: TestApp;
  let canary: { id: string; json: unknown };
  let restOperations: string[] = [];
  let rpcOperations: string[] = [];
  let cases: HostileCase[] = [];
  let answers: Answer[] = [];
  let sweepMs = 0;

  beforeAll(async () => {
    app = await startTestApp(setup);
    // The canary first: nothing the sweep sends may name it, so nothing may change it.
    const canaryId = (
      await created(app, "/products", app.adminToken, {
        name: "Canary",
        description: "The sweep never names this product",
        category: "canary",
        price_cents: 4242,
        stock: 42,
      })
    ).id;
    const read = await httpCall(app.baseUrl, "GET", `/products/${canaryId}`);
    expect(read.status, read.text).toBe(200);
    canary = { id: canaryId, json: read.body };

    const product = (name: string) =>
      created(app, "/products", app.adminToken, {
        name,
        price_cents: 1000,
        stock: 1_000_000,
        category: "hostile",
      });
    const productId = (await product("Hostile target A")).id;
    const targetProductId = (await product("Hostile target B")).id;
    const discountId = (
      await created(app, "/discounts", app.adminToken, {
        name: "Hostile discount",
        percent_off: 10,
        product_ids: [productId],
        starts_at: "2025-01-01T00:00:00Z",
        ends_at: "2035-01-01T00:00:00Z",
      })
    ).id;
    const orderId = (
      await created(app, "/orders", app.customerToken, { items: [{ product_id: productId, quantity: 1 }] })
    ).id;
    const reviewId = (
      await created(app, `/products/${productId}/reviews`, app.customerToken, { rating: 4, comment: "Fine" })
    ).id;
    const fixtures: HostileFixtures = {
      productId,
      targetProductId,
      discountId,
      orderId,
      reviewId,
      customerId: "customer-1",
    };

    const openapi = await httpCall(app.baseUrl, "GET", "/openapi.json");
    expect(openapi.status).toBe(200);
    const doc = openapi.body as OpenApiDocument;
    expect(doc.openapi).toMatch(/^3\.1/);
    restOperations = openApiOperations(doc);
    const rpc = rpcCases(
      [
        { service: InventoryService, internal: false },
        { service: StockService, internal: true },
        { service: OrderService, internal: false },
        { service: OrderBatchService, internal: true },
        { service: StatisticsService, internal: false },
      ],
      fixtures,
    );
    rpcOperations = rpc.operations;
    cases = [
      ...restCases({
        doc,
        fixtures,
        tokenCallers: [
          { name: "customer", token: app.customerToken },
          { name: "admin", token: app.adminToken },
          { name: "service", token: app.serviceToken },
        ],
        hostileTokens: await hostileTokens(),
      }),
      ...rpc.cases,
    ];
    // The sweep must never name the canary, or its check below would prove nothing.
    for (const one of cases) {
      const named = [one.target, one.body?.toString("latin1") ?? "", JSON.stringify(one.headers)].some(
        (text) => text.includes(canaryId),
      );
      if (named) throw new Error(`the sweep names the canary: ${one.operation} ${one.input}`);
    }

    const callers: Caller[] = [
      { name: "anonymous" },
      { name: "customer", authorization: `Bearer ${app.customerToken}` },
      { name: "admin", authorization: `Bearer ${app.adminToken}` },
      { name: "service", authorization: `Bearer ${app.serviceToken}` },
    ];
    const started = performance.now();
    answers = await runSweep(cases, { baseUrl: app.baseUrl, callers, concurrency: CONCURRENCY });
    sweepMs = performance.now() - started;
    const byProtocol = (protocol: string) =>
      answers.filter((answer) => answer.case.protocol === protocol).length;
    console.info(
      `hostile input (${setup}): ${answers.length} requests (REST ${byProtocol("rest")}, Connect ${byProtocol("connect")}, ` +
        `gRPC ${byProtocol("grpc")}) from ${cases.length} cases in ${(sweepMs / 1000).toFixed(1)} s`,
    );
    const dir = process.env.HOSTILE_REPORT_DIR;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      const byKind = (answer: Answer) => `${answer.case.protocol} ${inputKind(answer.case.input)}`;
      writeFileSync(
        path.join(dir, `hostile-input-${setup}.txt`),
        `${allVerdicts(answers).map(report).join("\n\n")}\n\n` +
          `Answers by operation:\n${tally(answers)}\n\n` +
          `Slowest inputs (total time in flight):\n${slowest(answers)}\n\n` +
          `By kind of input:\n${slowest(answers, 60, byKind)}\n\n` +
          `By operation:\n${slowest(answers, 60, (answer) => `${answer.case.protocol} ${answer.case.operation}`)}\n`,
      );
    }
  }, SWEEP_TIMEOUT_MS);

  afterAll(async () => {
    await app?.stop();
  });

  it("covers every REST operation and every RPC over Connect JSON, Connect binary and gRPC", () => {
    expect(restOperations.length).toBeGreaterThan(10);
    const covered = (protocol: string, operation: string, input: RegExp) =>
      cases.some((one) => one.protocol === protocol && one.operation === operation && input.test(one.input));
    const missing: string[] = [];
    for (const operation of restOperations)
      if (!covered("rest", operation, /./)) missing.push(`rest ${operation}`);
    for (const operation of rpcOperations) {
      if (!covered("connect", operation, /^json /)) missing.push(`connect+json ${operation}`);
      if (!covered("connect", operation, /^proto /)) missing.push(`connect+proto ${operation}`);
      if (!covered("grpc", operation, /./)) missing.push(`grpc ${operation}`);
    }
    expect(missing).toEqual([]);
    for (const service of [
      InventoryService,
      StockService,
      OrderService,
      OrderBatchService,
      StatisticsService,
    ]) {
      for (const method of service.methods)
        expect(rpcOperations).toContain(`${service.typeName}/${method.name}`);
    }
    expect(answers.length).toBeGreaterThan(2000);
  });

  it("answers no hostile request with a 5xx, a gRPC server error or no answer at all", () => {
    const verdict = serverErrors(answers);
    expect(verdict.offenders.length, report(verdict)).toBe(0);
  });

  it("answers every REST 4xx with problem+json {type, title, status, detail, code} of its status", () => {
    const verdict = restShapeErrors(answers);
    expect(verdict.offenders.length, report(verdict)).toBe(0);
  });

  it("answers every Connect error with a Connect code and the HTTP status Connect gives that code", () => {
    const verdict = connectShapeErrors(answers);
    expect(verdict.offenders.length, report(verdict)).toBe(0);
  });

  it("lets nobody but the service credential call an internal service", () => {
    const verdict = internalServiceLeaks(answers);
    expect(verdict.offenders.length, report(verdict)).toBe(0);
  });

  it("grants the service credential nothing on the public API that an anonymous caller is refused", () => {
    const verdict = serviceCredentialLeaks(answers);
    expect(verdict.offenders.length, report(verdict)).toBe(0);
  });

  it("leaves the canary product exactly as it was", async () => {
    const read = await httpCall(app.baseUrl, "GET", `/products/${canary.id}`);
    expect(read.status, read.text).toBe(200);
    expect(read.body).toEqual(canary.json);
  });
});
