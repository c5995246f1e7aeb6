/**
 * Request counts and latency per route template (not per URL, so ids do not explode the series).
 *
 * Recorded around each route handler rather than by a Hono middleware: a middleware makes Hono
 * compose an async chain for every request, which cost about a tenth of a cached product read's
 * throughput (measured; see BENCHMARKS.md).
 */
import type { Context } from "hono";
import type { Registry } from "../platform/metrics.js";
import { RouteMetrics } from "../platform/route-metrics.js";
import { statusOfError } from "./problem.js";

export class HttpMetrics {
  private readonly routes: RouteMetrics;

  constructor(registry: Registry) {
    this.routes = new RouteMetrics(registry);
  }

  /** Runs a route handler's body, counting and timing its outcome, success or error. */
  async track<T>(c: Context, run: () => T | Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const response = await run();
      this.record(c, (response as Response).status, started);
      return response;
    } catch (error) {
      this.record(c, statusOfError(error), started);
      throw error;
    }
  }

  /** Counts a request of a matched route answered outside `track` (a validation failure, the hot read). */
  record(c: Context, status: number, started = performance.now()): void {
    // routePath is the matched template ("/products/:id"); "/*" when nothing but a catch-all matched.
    const routePath = c.req.routePath;
    const route = routePath && routePath !== "/*" ? routePath : "unmatched";
    this.routes.observe(c.req.method, route, status, (performance.now() - started) / 1000);
  }

  /** Counts a request whose method and route template the caller knows. */
  observe(method: string, route: string, status: number, started: number): void {
    this.routes.observe(method, route, status, (performance.now() - started) / 1000);
  }

  /** Counts a request that matched no route (Hono has no route path to ask for then). */
  recordUnmatched(c: Context, status: number): void {
    this.routes.observe(c.req.method, "unmatched", status, 0);
  }
}
