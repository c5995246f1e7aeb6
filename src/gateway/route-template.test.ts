import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturedLog } from "../../test/support/captured-log.js";
import { sampleValue } from "../../test/support/prometheus-text.js";
import { createMetricsRegistry } from "../platform/metrics.js";
import { observeRequests } from "../platform/observability/index.js";
import { RouteMetrics } from "../platform/route-metrics.js";
import { routeTemplate } from "./route-template.js";

describe("REST requests counted and logged by route template", () => {
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const log = capturedLog();
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    const app = new OpenAPIHono({
      defaultHook: (result, c) => (result.success ? undefined : c.json({ error: "invalid" }, 400)),
    });
    // Registered first, so /things/:id does not take it (as GET /orders/events before /orders/:id).
    app.openapi(
      createRoute({
        method: "get",
        path: "/things/latest",
        request: { query: z.object({ n: z.string().optional() }) },
        responses: { 200: { description: "The latest thing" } },
      }),
      (c) => c.json({ id: "latest" }),
    );
    app.get("/things/:id", (c) => c.json({ id: c.req.param("id") }));
    app.openapi(
      createRoute({
        method: "post",
        path: "/things",
        request: { body: { content: { "application/json": { schema: z.object({ name: z.string() }) } } } },
        responses: { 201: { description: "Created" } },
      }),
      (c) => c.body(null, 201),
    );
    app.get("/fails", () => {
      throw new Error("boom");
    });
    app.onError((_error, c) => c.json({ error: "internal" }, 500));
    const routes = new RouteMetrics(registry);
    server = createServer(
      observeRequests(getRequestListener(app.fetch), {
        logger: log.logger,
        routeOf: (method, url) => routeTemplate(app, method, url),
        onCompleted: ({ method, route, status, seconds }) => routes.observe(method, route, status, seconds),
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function count(labels: Record<string, string>): Promise<number> {
    return sampleValue(await registry.metrics(), "http_requests_total", labels) ?? 0;
  }

  it("counts each answer under the template of the route that gave it, with its status", async () => {
    await fetch(`${baseUrl}/things/abc?expand=all`);
    await fetch(`${baseUrl}/things/%61bc`);
    await fetch(`${baseUrl}/things/abc`, { method: "HEAD" });
    await fetch(`${baseUrl}/things`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    await fetch(`${baseUrl}/things`, {
      method: "POST",
      body: '{"name":"x"}',
      headers: { "content-type": "application/json" },
    });
    await fetch(`${baseUrl}/fails`);

    expect(await count({ method: "GET", route: "/things/:id", status: "200" })).toBe(2);
    expect(await count({ method: "HEAD", route: "/things/:id", status: "200" })).toBe(1);
    expect(await count({ method: "POST", route: "/things", status: "400" })).toBe(1);
    expect(await count({ method: "POST", route: "/things", status: "201" })).toBe(1);
    expect(await count({ method: "GET", route: "/fails", status: "500" })).toBe(1);
  });

  it("counts a path two routes match under the route that answered it", async () => {
    const byId = await count({ method: "GET", route: "/things/:id", status: "200" });
    expect(await (await fetch(`${baseUrl}/things/latest?n=1`)).json()).toEqual({ id: "latest" });
    expect(await count({ method: "GET", route: "/things/latest", status: "200" })).toBe(1);
    expect(await count({ method: "GET", route: "/things/:id", status: "200" })).toBe(byId);
  });

  it('counts a path no route matches as "unmatched", never by its URL', async () => {
    const before = await count({ method: "GET", route: "unmatched", status: "404" });
    await fetch(`${baseUrl}/nothing-here-4f1c`);
    expect(await count({ method: "GET", route: "unmatched", status: "404" })).toBe(before + 1);
    expect(await registry.metrics()).not.toContain("nothing-here-4f1c");
  });

  it("logs the route template, never the URL with its ids and query", async () => {
    const response = await fetch(`${baseUrl}/things/secret-id-77?token=abc`);
    const requestId = response.headers.get("x-request-id");
    await response.arrayBuffer();
    await waitFor(() => log.lines.some((line) => line.requestId === requestId));
    const line = log.lines.find((entry) => entry.requestId === requestId);
    expect(line).toMatchObject({ msg: "request", method: "GET", route: "/things/:id", status: 200 });
    expect(JSON.stringify(line)).not.toContain("secret-id-77");
    expect(JSON.stringify(line)).not.toContain("token");
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200 && !condition(); attempt++) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}
