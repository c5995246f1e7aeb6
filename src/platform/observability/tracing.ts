/**
 * OpenTelemetry tracing, off unless an OTLP endpoint is configured (tracing-config.ts). Off, no
 * provider, context manager or propagator is installed, and every instrumentation site asks
 * `activeTracer()` first, so a request pays one check per site and nothing else: tracing off is
 * free (BENCHMARKS.md, "Tracing"). On, spans go through a batching processor to an OTLP/HTTP
 * exporter (protobuf or JSON), and the trace context follows async work through an
 * AsyncLocalStorage (which costs every promise a hook, so only then). docs/operations.md,
 * "Tracing".
 */
import { type Context, context, propagation, type Tracer, trace } from "@opentelemetry/api";
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
import type { TraceSampler, TracingConfig } from "../tracing-config.js";

const INSTRUMENTATION_NAME = "ecommerce";

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
export function startTracing(config: TracingConfig): Tracing {
  const Exporter = config.protocol === "http/json" ? OtlpJsonExporter : OtlpProtobufExporter;
  const exporter = new Exporter({ url: config.endpoint, headers: { ...config.headers } });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      ...config.resourceAttributes,
      "service.name": config.serviceName,
    }),
    sampler: samplerOf(config.sampler),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(propagator);
  tracer = provider.getTracer(INSTRUMENTATION_NAME);
  return {
    stop: async () => {
      tracer = undefined;
      await provider.shutdown();
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
