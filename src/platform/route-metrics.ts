/**
 * HTTP requests by method, route template and status (`http_requests_total`,
 * `http_request_duration_seconds`), recorded for every request the one port serves outside RPC.
 */
import type { Registry } from "prom-client";
import { LabelledLatency, type LatencySeries } from "./labelled-latency.js";

/**
 * Method label values: any other method is "other", so a client cannot create series at will
 * (HTTP/2 accepts any token as a method, and HTTP/1.1 a long list of them).
 */
const KNOWN_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const METHOD_INDEX = new Map(KNOWN_METHODS.map((method, index) => [method, index]));
const OTHER_METHOD = KNOWN_METHODS.length;

export class RouteMetrics {
  private readonly latency: LabelledLatency;
  /** Route template → (status × 8 + method index) → series: no key string per request. */
  private readonly byRoute = new Map<string, Map<number, LatencySeries>>();

  constructor(registry: Registry) {
    this.latency = new LabelledLatency(registry, {
      requests: "http_requests_total",
      duration: "http_request_duration_seconds",
      what: "Requests",
      labels: ["method", "route", "status"],
    });
  }

  /** Records one request that took `seconds`; `route` is a template, never a raw URL. */
  observe(requestMethod: string, route: string, status: number, seconds: number): void {
    let byStatusAndMethod = this.byRoute.get(route);
    if (byStatusAndMethod === undefined) {
      byStatusAndMethod = new Map();
      this.byRoute.set(route, byStatusAndMethod);
    }
    const methodIndex = METHOD_INDEX.get(requestMethod) ?? OTHER_METHOD;
    const key = status * 8 + methodIndex;
    let series = byStatusAndMethod.get(key);
    if (series === undefined) {
      series = this.latency.series(KNOWN_METHODS[methodIndex] ?? "other", route, String(status));
      byStatusAndMethod.set(key, series);
    }
    series.observe(seconds);
  }
}
