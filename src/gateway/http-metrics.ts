/** Request counts and latency per route template (not per URL, so ids do not explode the series). */
import type { MiddlewareHandler } from "hono";
import { Counter, Histogram, type Registry } from "../platform/metrics.js";

export function httpMetrics(registry: Registry): MiddlewareHandler {
  const requests = new Counter({
    name: "http_requests_total",
    help: "REST requests by method, route template and status",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "REST request latency by method and route template",
    labelNames: ["method", "route"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return async function recordHttpMetrics(c, next) {
    const started = performance.now();
    await next();
    // routePath is the matched template ("/products/:id"); "*" or empty when nothing matched.
    const route = c.req.routePath && c.req.routePath !== "/*" ? c.req.routePath : "unmatched";
    requests.inc({ method: c.req.method, route, status: String(c.res.status) });
    duration.observe({ method: c.req.method, route }, (performance.now() - started) / 1000);
  };
}
