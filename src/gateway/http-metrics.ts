/**
 * Request counts and latency per route template (not per URL, so ids do not explode the series),
 * recorded for every request by one Hono middleware; requests refused before Hono (body limit,
 * undecodable URL) are counted by the listener. docs/operations.md lists the series.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Registry } from "../platform/metrics.js";
import { RouteMetrics } from "../platform/route-metrics.js";

export class HttpMetrics {
  private readonly routes: RouteMetrics;

  constructor(registry: Registry) {
    this.routes = new RouteMetrics(registry);
  }

  /**
   * The middleware: counts and times the response whatever produced it — the route, a validation
   * failure, the error handler or the not-found handler (Hono's compose sets `c.res` for each).
   */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const started = performance.now();
      await next();
      this.record(c, c.res.status, started);
    };
  }

  /** Counts a request whose method and route template the caller knows. */
  observe(method: string, route: string, status: number, started: number): void {
    this.routes.observe(method, route, status, (performance.now() - started) / 1000);
  }

  private record(c: Context, status: number, started: number): void {
    // After next(), routePath is the template of the handler that answered ("/products/:id"); it
    // is the middleware's own "/*" when nothing but the middleware matched.
    const routePath = c.req.routePath;
    this.observe(c.req.method, routePath && routePath !== "/*" ? routePath : "unmatched", status, started);
  }
}
