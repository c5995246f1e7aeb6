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
 * (BENCHMARKS.md, "Request logs, metrics and tracing").
 */
import type { DescMethodUnary } from "@bufbuild/protobuf";
import type { Code, Interceptor } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Registry } from "prom-client";
import { publicError } from "../errors/public-error.js";
import { LabelledLatency } from "../labelled-latency.js";

const LABELS = ["service", "method", "code"] as const;

export class RpcMetrics {
  private readonly server: LabelledLatency;
  private readonly client: LabelledLatency;

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
    this.timed(request, () => next(request), [this.server]);

  /** For the calls this process makes over the network. */
  readonly made: Interceptor = (next) => (request) => this.timed(request, () => next(request), [this.client]);

  /** The in-process transport's completion hook: each call counts as made and as handled. */
  readonly inProcessCall = (method: DescMethodUnary, code: Code | undefined, seconds: number): void => {
    const name = code === undefined ? "ok" : codeToString(code);
    const service = method.parent.typeName;
    this.client.observe(service, method.name, name, seconds);
    this.server.observe(service, method.name, name, seconds);
  };

  private async timed<T>(
    request: { service: { typeName: string }; method: { name: string } },
    call: () => Promise<T>,
    series: readonly LabelledLatency[],
  ): Promise<T> {
    const started = performance.now();
    let code = "ok";
    try {
      return await call();
    } catch (error) {
      // As the caller gets it: what a handler threw becomes a public error (public-error.ts).
      code = codeToString(publicError(error).code);
      throw error;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      for (const one of series) one.observe(request.service.typeName, request.method.name, code, seconds);
    }
  }
}
