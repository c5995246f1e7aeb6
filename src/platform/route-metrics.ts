/**
 * HTTP requests by method, route template and status (`http_requests_total`,
 * `http_request_duration_seconds`), recorded for every request the one port serves outside RPC.
 */
import type { Registry } from "prom-client";
import { LabelledLatency } from "./labelled-latency.js";

/**
 * Method label values: any other method is "other", so a client cannot create series at will
 * (HTTP/2 accepts any token as a method, and HTTP/1.1 a long list of them).
 */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

export class RouteMetrics {
  private readonly latency: LabelledLatency;

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
    const method = KNOWN_METHODS.has(requestMethod) ? requestMethod : "other";
    this.latency.observe(method, route, String(status), seconds);
  }
}
