/**
 * OpenTelemetry tracing, off unless an OTLP endpoint is configured (tracing-config.ts). Off, no
 * provider, context manager or propagator is installed, and every instrumentation site asks
 * `activeTracer()` first, so a request pays one check per site and nothing else: tracing off is
 * free (BENCHMARKS.md, "Tracing"). On, spans go through a batching processor to an OTLP/HTTP
 * exporter (protobuf or JSON), and the trace context follows async work through an
 * AsyncLocalStorage (which costs every promise a hook, so only then). docs/operations.md,
 * "Tracing".
 */
import {
  type Context,
  context,
  DiagLogLevel,
  diag,
  propagation,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter as OtlpJsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OtlpProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import type { Logger } from "../logger.js";
import { rateLimitedWarn } from "../rate-limited-log.js";
import type { TraceSampler, TracingConfig } from "../tracing-config.js";
import { withTimeout } from "../with-timeout.js";

const INSTRUMENTATION_NAME = "ecommerce";
/** How long one export (its retries included) may take before its spans are dropped. */
const EXPORT_TIMEOUT_MS = 5_000;
/**
 * How long a stop waits for the last spans to be exported: a collector that is down must not
 * hold the shutdown past its deadline (docs/operations.md, "Shutdown").
 */
const FINAL_EXPORT_MS = 2_000;

let tracer: Tracer | undefined;
const propagator = new W3CTraceContextPropagator();

/** The tracer while tracing is on, else undefined: the one check every instrumentation site makes. */
export function activeTracer(): Tracer | undefined {
  return tracer;
}

export interface Tracing {
  /** Exports the spans still buffered, then stops exporting. */
  stop(): Promise<void>;
}

/**
 * Starts tracing for this process. Once per process: the context manager and the propagator are
 * OpenTelemetry globals.
 */
export function startTracing(config: TracingConfig, logger: Logger): Tracing {
  const Exporter = config.protocol === "http/json" ? OtlpJsonExporter : OtlpProtobufExporter;
  const exporter = new Exporter({
    url: config.endpoint,
    headers: { ...config.headers },
    timeoutMillis: EXPORT_TIMEOUT_MS,
  });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      ...config.resourceAttributes,
      "service.name": config.serviceName,
    }),
    sampler: samplerOf(config.sampler),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  // The SDK reports failed exports through its diagnostics logger: to ours, at most one a minute.
  const warn = rateLimitedWarn(logger, 60_000);
  diag.setLogger(
    {
      error: (message) => warn({ endpoint: config.endpoint }, `tracing: ${message}`),
      warn: (message) => warn({ endpoint: config.endpoint }, `tracing: ${message}`),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(propagator);
  tracer = provider.getTracer(INSTRUMENTATION_NAME);
  return {
    stop: async () => {
      tracer = undefined;
      await withTimeout(
        provider.shutdown(),
        FINAL_EXPORT_MS,
        () =>
          new Error(`the last spans were not exported within ${FINAL_EXPORT_MS} ms (collector unreachable?)`),
      ).catch((error: unknown) =>
        logger.warn({ err: error, endpoint: config.endpoint }, "tracing: spans dropped at stop"),
      );
    },
  };
}

function samplerOf(config: TraceSampler): Sampler {
  switch (config.kind) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(config.ratio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.ratio) });
  }
}

/** `parent` (the active context by default) with the span of a W3C `traceparent` as its parent. */
export function contextFromTraceparent(
  traceparent: string | undefined | null,
  parent = context.active(),
): Context {
  if (!traceparent) return parent;
  return propagator.extract(
    parent,
    { traceparent },
    { get: (carrier, key) => carrier[key as "traceparent"], keys: () => ["traceparent"] },
  );
}

/** The W3C `traceparent` of the span active in `ctx` (the active context by default), if any. */
export function traceparentOf(ctx = context.active()): string | undefined {
  const carrier: { traceparent?: string } = {};
  propagator.inject(ctx, carrier, {
    set: (target, key, value) => {
      if (key === "traceparent") target.traceparent = value;
    },
  });
  return carrier.traceparent;
}

export { context, trace };
