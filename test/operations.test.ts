/**
 * Operations endpoints: liveness, readiness (including a dependency that is down) and the
 * Prometheus metrics that matter for running the catalog (per-route request counts, the product
 * cache, the outbox backlog).
 */
import { randomUUID } from "node:crypto";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpCallOptions, httpCall } from "./support/http-call.js";
import { expectProductShape, type ProductJson } from "./support/product-json.js";
import { sampleValue } from "./support/prometheus-text.js";
import { availableSetups, inProcessSetups, startTestApp, type TestApp } from "./support/test-app.js";

const EXPECTED_CHECKS = { embedded: ["database"], services: ["database", "nats", "redis"] } as const;

interface Readiness {
  status: string;
  checks: Record<string, { ok: boolean }>;
}

async function eventually(assertion: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

// Readiness checks, request counters, cache metrics and the outbox gauge belong to one process, so
// this suite runs against the in-process set-ups only (never the split or the replicas).
describe.each(inProcessSetups())("operations endpoints (%s)", (setup) => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(setup);
  });
  afterAll(async () => {
    await app?.stop();
  });

  const call = (method: string, path: string, options?: HttpCallOptions) =>
    httpCall(app.baseUrl, method, path, options);

  async function createProduct(): Promise<ProductJson> {
    const result = await call("POST", "/products", {
      token: app.adminToken,
      json: { name: "Metered", price_cents: 100, stock: 1 },
    });
    expect(result.status, result.text).toBe(201);
    expectProductShape(result.body);
    return result.body;
  }

  async function metrics(): Promise<string> {
    const result = await call("GET", "/metrics");
    expect(result.status).toBe(200);
    expect(result.headers.get("content-type")).toMatch(/^text\/plain\b/);
    return result.text;
  }

  it("GET /healthz is 200", async () => {
    const result = await call("GET", "/healthz");
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ status: "ok" });
  });

  it("GET /readyz is 200 and lists every configured dependency as ok", async () => {
    const result = await call("GET", "/readyz");
    expect(result.status, result.text).toBe(200);
    const body = result.body as Readiness;
    expect(body.status).toBe("ready");
    expect(Object.keys(body.checks).sort()).toEqual([...EXPECTED_CHECKS[setup]]);
    for (const check of Object.values(body.checks)) expect(check.ok).toBe(true);
  });

  it("counts REST requests per route template, never per id", async () => {
    const product = await createProduct();
    const labels = { method: "GET", route: "/products/:id", status: "200" };
    const before = sampleValue(await metrics(), "http_requests_total", labels) ?? 0;
    expect((await call("GET", `/products/${product.id}`)).status).toBe(200);
    const text = await metrics();
    expect(text).toMatch(/^http_requests_total\{[^}]*route="\/products\/:id"[^}]*\} /m);
    expect(sampleValue(text, "http_requests_total", labels)).toBe(before + 1);

    const missing = randomUUID();
    expect((await call("GET", `/products/${missing}`)).status).toBe(404);
    const unmatched = `/no-such-route-${randomUUID()}`;
    expect((await call("GET", unmatched)).status).toBe(404);
    const after = await metrics();
    expect(sampleValue(after, "http_requests_total", { ...labels, status: "404" })).toBeGreaterThanOrEqual(1);
    expect(after).not.toContain(product.id);
    expect(after).not.toContain(missing);
    expect(after).not.toContain(unmatched);
  });

  it('labels a method it does not know "other" (HTTP/2 accepts any token as a method)', async () => {
    const invented = `BREW${randomUUID().slice(0, 8).toUpperCase()}`;
    const session = http2.connect(app.baseUrl);
    try {
      for (const path of ["/products", "/healthz", "/no-such-route"]) {
        const status = await new Promise<number>((resolve, reject) => {
          const stream = session.request({ ":method": invented, ":path": path });
          stream.on("response", (headers) => resolve(Number(headers[":status"])));
          stream.on("error", reject);
          stream.resume();
          stream.end();
        });
        expect(status).toBeLessThan(500);
      }
    } finally {
      session.close();
    }
    const text = await metrics();
    expect(text).not.toContain(invented);
    expect(text).toMatch(/^http_requests_total\{[^}]*method="other"[^}]*\} \d+/m);
  });

  it('counts product cache misses and hits under cache="products"', async () => {
    const product = await createProduct();
    const misses = (text: string) => sampleValue(text, "cache_misses_total", { cache: "products" }) ?? 0;
    const hits = (text: string) => sampleValue(text, "cache_hits_total", { cache: "products" }) ?? 0;
    const start = await metrics();

    expect((await call("GET", `/products/${product.id}`)).status).toBe(200);
    const afterFirst = await metrics();
    expect(misses(afterFirst) - misses(start)).toBe(1);
    expect(hits(afterFirst) - hits(start)).toBe(0);

    expect((await call("GET", `/products/${product.id}`)).status).toBe(200);
    const afterSecond = await metrics();
    expect(misses(afterSecond) - misses(afterFirst)).toBe(0);
    expect(hits(afterSecond) - hits(afterFirst)).toBe(1);
    expect(afterSecond).toMatch(/^cache_hits_total\{[^}]*cache="products"[^}]*\} \d+/m);
    expect(afterSecond).toMatch(/^cache_misses_total\{[^}]*cache="products"[^}]*\} \d+/m);
  });

  it("reports the inventory outbox backlog, which drains to 0 once events are relayed", async () => {
    await createProduct();
    expect(await metrics()).toMatch(/^# TYPE outbox_backlog gauge$/m);
    await eventually(async () => {
      expect(sampleValue(await metrics(), "outbox_backlog", { outbox: "inventory" })).toBe(0);
    });
  });
});

const servicesAvailable = availableSetups().includes("services");

describe.skipIf(!servicesAvailable)("readiness while Redis is unreachable (services)", () => {
  let app: TestApp;

  beforeAll(async () => {
    // Nothing listens on port 1: Redis is down from the start.
    app = await startTestApp("services", { REDIS_URL: "redis://127.0.0.1:1" });
  });
  afterAll(async () => {
    await app?.stop();
  });

  const call = (method: string, path: string, options?: HttpCallOptions) =>
    httpCall(app.baseUrl, method, path, options);

  it("GET /readyz is 503 naming redis, with Retry-After, while the others are ok", async () => {
    // NATS connects in the background after start; on a loaded machine that can take a moment.
    let result = await call("GET", "/readyz");
    await eventually(async () => {
      result = await call("GET", "/readyz");
      expect((result.body as Readiness).checks.nats?.ok).toBe(true);
    });
    expect(result.status, result.text).toBe(503);
    expect(result.text).toContain("redis");
    expect(result.headers.get("retry-after")).toMatch(/^\d+$/);
    const body = result.body as Readiness;
    expect(body.status).not.toBe("ready");
    expect(body.checks.redis?.ok).toBe(false);
    expect(body.checks.database?.ok).toBe(true);
    expect(body.checks.nats?.ok).toBe(true);
    // Which dependency, never its error or address (docs/api.md, "Limits": leaks).
    expect(result.text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|:1\b|error/i);
  });

  it("GET /healthz is still 200", async () => {
    expect((await call("GET", "/healthz")).status).toBe(200);
  });

  it("product reads and writes still succeed, and a read after a write sees the write", async () => {
    const created = await call("POST", "/products", {
      token: app.adminToken,
      json: { name: "Without Redis", price_cents: 4200, stock: 3 },
    });
    expect(created.status, created.text).toBe(201);
    expectProductShape(created.body);
    const product = created.body;

    for (let read = 0; read < 3; read++) {
      const started = Date.now();
      const result = await call("GET", `/products/${product.id}`);
      expect(result.status, result.text).toBe(200);
      expect(result.body).toEqual(product);
      expect(Date.now() - started).toBeLessThan(2_000);
    }
    const list = await call("GET", "/products?page_size=100");
    expect(list.status).toBe(200);

    const updated = await call("PATCH", `/products/${product.id}`, {
      token: app.adminToken,
      json: { stock: 7 },
    });
    expect(updated.status, updated.text).toBe(200);
    const reread = await call("GET", `/products/${product.id}`);
    expect(reread.status).toBe(200);
    expect(reread.body).toMatchObject({ id: product.id, stock: 7 });

    expect((await call("DELETE", `/products/${product.id}`, { token: app.adminToken })).status).toBe(204);
    expect((await call("GET", `/products/${product.id}`)).status).toBe(404);
  });

  it("counts the Redis operations that failed or were skipped in /metrics", async () => {
    const created = await call("POST", "/products", {
      token: app.adminToken,
      json: { name: "Counted without Redis", price_cents: 100, stock: 1 },
    });
    expect(created.status, created.text).toBe(201);
    expect((await call("GET", `/products/${(created.body as { id: string }).id}`)).status).toBe(200);
    const text = (await call("GET", "/metrics")).text;
    const counted = [...text.matchAll(/^cache_redis_(?:errors|skipped)_total\{[^}]*\} (\d+)$/gm)].reduce(
      (sum, match) => sum + Number(match[1]),
      0,
    );
    expect(counted).toBeGreaterThan(0);
  });
});
