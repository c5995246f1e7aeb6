/**
 * Connect calls counted and timed by service, method and status code, on both sides:
 * `rpc_server_requests_total` / `rpc_server_duration_seconds` for the calls a process handles,
 * `rpc_client_requests_total` / `rpc_client_duration_seconds` for the calls it makes
 * (docs/operations.md, "Metrics"). `code` is Connect's name for it: `ok`, `not_found`,
 * `unavailable`, …
 *
 * A call in process is one call seen from both sides: the in-process transport reports it once as
 * it settles (`inProcessCall`) and it is recorded in both series. Interceptors there would take
 * every call off the transport's direct path: one cost the cached product read 2.3 µs, 7 %
 * (BENCHMARKS.md, "Request logs, metrics and tracing"). Streams in process, which take Connect's
 * own path anyway, are counted by an interceptor (`inProcessStream`).
 *
 * A server stream (WatchOrders) is counted when it ends, with the code it ended with; its duration
 * is its whole life.
 */
import type { DescMethod, DescMethodUnary } from "@bufbuild/protobuf";
import type { Code, Interceptor, StreamResponse, UnaryResponse } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Registry } from "prom-client";
import { publicError } from "../errors/public-error.js";
import { LabelledLatency, type LatencySeries } from "../labelled-latency.js";
import { onCallEnd } from "./stream-end.js";

const LABELS = ["service", "method", "code"] as const;

/**
 * The series of one method on one side, by code (0 for ok, else Connect's code number): found by
 * the method's descriptor, without a key string per call (labelled-latency.ts says why).
 */
class MethodSeries {
  private readonly byCode: (LatencySeries | undefined)[] = [];

  constructor(
    private readonly latency: LabelledLatency,
    private readonly method: DescMethod,
  ) {}

  observe(code: Code | undefined, seconds: number): void {
    const index = code ?? 0;
    let series = this.byCode[index];
    if (series === undefined) {
      const name = code === undefined ? "ok" : codeToString(code);
      series = this.latency.series(this.method.parent.typeName, this.method.name, name);
      this.byCode[index] = series;
    }
    series.observe(seconds);
  }
}

export class RpcMetrics {
  private readonly server: LabelledLatency;
  private readonly client: LabelledLatency;
  private readonly serverSeries = new Map<DescMethod, MethodSeries>();
  private readonly clientSeries = new Map<DescMethod, MethodSeries>();

  constructor(registry: Registry) {
    this.server = new LabelledLatency(registry, {
      requests: "rpc_server_requests_total",
      duration: "rpc_server_duration_seconds",
      what: "RPCs handled",
      labels: LABELS,
    });
    this.client = new LabelledLatency(registry, {
      requests: "rpc_client_requests_total",
      duration: "rpc_client_duration_seconds",
      what: "RPCs made",
      labels: LABELS,
    });
  }

  /** For the handlers this process serves over the network. */
  readonly handled: Interceptor = (next) => (request) =>
    timed([this.seriesOf(this.serverSeries, this.server, request.method)], () => next(request));

  /** For the calls this process makes over the network. */
  readonly made: Interceptor = (next) => (request) =>
    timed([this.seriesOf(this.clientSeries, this.client, request.method)], () => next(request));

  /** For streams in process: each counts as made and as handled, like `inProcessCall`. */
  readonly inProcessStream: Interceptor = (next) => (request) =>
    timed(
      [
        this.seriesOf(this.clientSeries, this.client, request.method),
        this.seriesOf(this.serverSeries, this.server, request.method),
      ],
      () => next(request),
    );

  /** The in-process transport's completion hook: each call counts as made and as handled. */
  readonly inProcessCall = (method: DescMethodUnary, code: Code | undefined, seconds: number): void => {
    this.seriesOf(this.clientSeries, this.client, method).observe(code, seconds);
    this.seriesOf(this.serverSeries, this.server, method).observe(code, seconds);
  };

  private seriesOf(
    bySide: Map<DescMethod, MethodSeries>,
    latency: LabelledLatency,
    method: DescMethod,
  ): MethodSeries {
    let series = bySide.get(method);
    if (series === undefined) {
      series = new MethodSeries(latency, method);
      bySide.set(method, series);
    }
    return series;
  }
}

/** A call observed once it settles; a server stream once its messages end (its whole life). */
async function timed<T extends UnaryResponse | StreamResponse>(
  series: readonly MethodSeries[],
  call: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  const observe = (error?: unknown) => {
    // As the caller gets it: what a handler threw becomes a public error (public-error.ts).
    const code = error === undefined ? undefined : publicError(error).code;
    for (const one of series) one.observe(code, (performance.now() - started) / 1000);
  };
  return onCallEnd(call(), (error) => {
    observe(error);
    return error;
  });
}
