import { describe, expect, it } from "vitest";
import { sampleValue } from "../../test/support/prometheus-text.js";
import { createMetricsRegistry } from "./metrics.js";
import { RouteMetrics } from "./route-metrics.js";

describe("RouteMetrics: HTTP requests by method, route template and status", () => {
  it("keeps one series per method, route and status, whatever order they come in", async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const routes = new RouteMetrics(registry);
    routes.observe("GET", "/products/:id", 200, 0.0004);
    routes.observe("GET", "/products/:id", 404, 0.002);
    routes.observe("HEAD", "/products/:id", 200, 0.0001);
    routes.observe("GET", "/products/:id", 200, 0.03);
    routes.observe("POST", "/orders", 200, 0.01);
    const text = await registry.metrics();
    const count = (method: string, route: string, status: string) =>
      sampleValue(text, "http_requests_total", { method, route, status });
    expect(count("GET", "/products/:id", "200")).toBe(2);
    expect(count("GET", "/products/:id", "404")).toBe(1);
    expect(count("HEAD", "/products/:id", "200")).toBe(1);
    expect(count("POST", "/orders", "200")).toBe(1);
    const labels = { method: "GET", route: "/products/:id", status: "200" };
    expect(sampleValue(text, "http_request_duration_seconds_sum", labels)).toBeCloseTo(0.0304, 6);
    // 0.0004 s falls in the first bucket (0.5 ms), 0.03 s first in the 50 ms one.
    expect(sampleValue(text, "http_request_duration_seconds_bucket", { ...labels, le: "0.0005" })).toBe(1);
    expect(sampleValue(text, "http_request_duration_seconds_bucket", { ...labels, le: "0.025" })).toBe(1);
    expect(sampleValue(text, "http_request_duration_seconds_bucket", { ...labels, le: "0.05" })).toBe(2);
  });

  it('counts every method outside the standard ones as one "other", so clients cannot add series', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const routes = new RouteMetrics(registry);
    for (const method of ["PROPFIND", "BREW", "M-SEARCH"]) routes.observe(method, "unmatched", 404, 0.001);
    const text = await registry.metrics();
    expect(
      sampleValue(text, "http_requests_total", { method: "other", route: "unmatched", status: "404" }),
    ).toBe(3);
    expect(text).not.toContain("PROPFIND");
  });
});
