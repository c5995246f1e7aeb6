/**
 * Per-route request counts and latency histograms for a hot path. prom-client hashes the label set
 * on every observation (labelled children included), which cost several percent of a cached read's
 * throughput; here each (method, route, status) series is a plain record found by one Map lookup,
 * and the registry reads the records only when /metrics is scraped.
 */
import type { Registry } from "prom-client";

/**
 * Method label values: any other method is "other", so a client cannot create series at will
 * (HTTP/2 accepts any token as a method, and HTTP/1.1 a long list of them).
 */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface Series {
  readonly method: string;
  readonly route: string;
  readonly status: string;
  count: number;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly buckets: Float64Array;
  sumSeconds: number;
}

interface MetricValue {
  metricName?: string;
  labels: Record<string, string>;
  value: number;
}

export class RouteMetrics {
  private readonly series = new Map<string, Series>();

  constructor(
    registry: Registry,
    names = { requests: "http_requests_total", duration: "http_request_duration_seconds" },
  ) {
    // Custom collectors: prom-client formats whatever `get()` returns at scrape time.
    registry.registerMetric({
      name: names.requests,
      help: "Requests by method, route template and status",
      type: "counter",
      get: async () => ({
        name: names.requests,
        help: "Requests by method, route template and status",
        type: "counter",
        aggregator: "sum",
        values: [...this.series.values()].map((s) => ({
          labels: { method: s.method, route: s.route, status: s.status },
          value: s.count,
        })),
      }),
    } as never);
    registry.registerMetric({
      name: names.duration,
      help: "Request latency by method, route template and status",
      type: "histogram",
      get: async () => ({
        name: names.duration,
        help: "Request latency by method, route template and status",
        type: "histogram",
        aggregator: "sum",
        values: [...this.series.values()].flatMap((s) => histogramValues(names.duration, s)),
      }),
    } as never);
  }

  /** Records one request that took `seconds`. */
  observe(requestMethod: string, route: string, status: number, seconds: number): void {
    const method = KNOWN_METHODS.has(requestMethod) ? requestMethod : "other";
    const key = `${method} ${route} ${status}`;
    let series = this.series.get(key);
    if (series === undefined) {
      series = {
        method,
        route,
        status: String(status),
        count: 0,
        buckets: new Float64Array(LATENCY_BUCKETS.length + 1),
        sumSeconds: 0,
      };
      this.series.set(key, series);
    }
    series.count++;
    series.sumSeconds += seconds;
    let index = 0;
    while (index < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[index] as number)) index++;
    series.buckets[index] = (series.buckets[index] as number) + 1;
  }
}

function histogramValues(name: string, series: Series): MetricValue[] {
  const labels = { method: series.method, route: series.route, status: series.status };
  const values: MetricValue[] = [];
  let cumulative = 0;
  for (let index = 0; index <= LATENCY_BUCKETS.length; index++) {
    cumulative += series.buckets[index] as number;
    const le = index < LATENCY_BUCKETS.length ? String(LATENCY_BUCKETS[index]) : "+Inf";
    values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
  }
  values.push({ metricName: `${name}_sum`, labels, value: series.sumSeconds });
  values.push({ metricName: `${name}_count`, labels, value: series.count });
  return values;
}
