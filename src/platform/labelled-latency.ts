/**
 * Request counts and latency histograms by three labels, for hot paths (HTTP routes, RPC methods).
 * prom-client hashes the label set on every observation (labelled children included), which cost
 * several percent of a cached read's throughput; here each series is a plain record
 * (`LatencySeries`) that hot callers look up once and keep, by keys they already hold (a method
 * descriptor, a route template and a status number): building a key string per observation cost
 * ~0.4 µs each, three per cached read (BENCHMARKS.md, "Request logs, metrics and tracing"). The
 * registry reads the records only when /metrics is scraped.
 */
import type { Registry } from "prom-client";

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface LatencySeriesNames {
  /** The counter, e.g. `http_requests_total`. */
  readonly requests: string;
  /** The histogram, e.g. `http_request_duration_seconds`. */
  readonly duration: string;
  /** What is counted, for the help texts: "Requests", "RPCs handled". */
  readonly what: string;
  /** The three label names, e.g. ["method", "route", "status"]. */
  readonly labels: readonly [string, string, string];
}

/** One series: the requests with one set of label values. */
export class LatencySeries {
  count = 0;
  sumSeconds = 0;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);

  constructor(readonly labels: Readonly<Record<string, string>>) {}

  observe(seconds: number): void {
    this.count++;
    this.sumSeconds += seconds;
    let index = 0;
    while (index < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[index] as number)) index++;
    this.buckets[index] = (this.buckets[index] as number) + 1;
  }
}

interface MetricValue {
  metricName?: string;
  labels: Record<string, string>;
  value: number;
}

export class LabelledLatency {
  private readonly byLabels = new Map<string, LatencySeries>();

  constructor(
    registry: Registry,
    private readonly names: LatencySeriesNames,
  ) {
    const by = names.labels.join(", ");
    // Custom collectors: prom-client formats whatever `get()` returns at scrape time.
    registry.registerMetric({
      name: names.requests,
      help: `${names.what} by ${by}`,
      type: "counter",
      get: async () => ({
        name: names.requests,
        help: `${names.what} by ${by}`,
        type: "counter",
        aggregator: "sum",
        values: [...this.byLabels.values()].map((s) => ({ labels: s.labels, value: s.count })),
      }),
    } as never);
    registry.registerMetric({
      name: names.duration,
      help: `Latency of ${names.what.toLowerCase()} by ${by}, in seconds`,
      type: "histogram",
      get: async () => ({
        name: names.duration,
        help: `Latency of ${names.what.toLowerCase()} by ${by}, in seconds`,
        type: "histogram",
        aggregator: "sum",
        values: [...this.byLabels.values()].flatMap((s) => histogramValues(names.duration, s)),
      }),
    } as never);
  }

  /** The series of three label values (from bounded sets only), created on first use. */
  series(first: string, second: string, third: string): LatencySeries {
    const key = `${first} ${second} ${third}`;
    let series = this.byLabels.get(key);
    if (series === undefined) {
      const [a, b, c] = this.names.labels;
      series = new LatencySeries({ [a]: first, [b]: second, [c]: third });
      this.byLabels.set(key, series);
    }
    return series;
  }

  /** Records one observation of `seconds` (callers off the hot path; hot ones keep the series). */
  observe(first: string, second: string, third: string, seconds: number): void {
    this.series(first, second, third).observe(seconds);
  }
}

function histogramValues(name: string, series: LatencySeries): MetricValue[] {
  const { labels } = series;
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
