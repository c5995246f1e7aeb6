/**
 * Whether tracing is on, and the W3C trace context as OpenTelemetry contexts. Off, no tracer,
 * context manager or exporter exists (the SDK is not even loaded: tracing-sdk.ts is imported only
 * to start one), and every instrumentation site asks `activeTracer()` first, so a request pays one
 * check per site and nothing else (BENCHMARKS.md, "Request logs, metrics and tracing";
 * docs/operations.md, "Tracing").
 */
import {
  type Context,
  context,
  isSpanContextValid,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { Logger } from "../logger.js";
import type { TracingConfig } from "../tracing-config.js";
import { parseTraceparent } from "./traceparent.js";
import type { Tracing } from "./tracing-sdk.js";

export type { Tracing };

let tracer: Tracer | undefined;

/** The tracer while tracing is on, else undefined: the one check every instrumentation site makes. */
export function activeTracer(): Tracer | undefined {
  return tracer;
}

/** Set by tracing-sdk.ts when tracing starts, cleared when it stops. */
export function setActiveTracer(active: Tracer | undefined): void {
  tracer = active;
}

/** `parent` (the active context by default) with the span of a W3C `traceparent` as its parent. */
export function contextFromTraceparent(
  traceparent: string | undefined | null,
  parent = context.active(),
): Context {
  const parsed = parseTraceparent(traceparent);
  if (parsed === undefined) return parent;
  return trace.setSpanContext(parent, {
    traceId: parsed.traceId,
    spanId: parsed.parentId,
    traceFlags: parsed.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
}

/** The W3C `traceparent` of the span active in `ctx` (the active context by default), if any. */
export function traceparentOf(ctx = context.active()): string | undefined {
  const spanContext = trace.getSpanContext(ctx);
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED) === 0 ? "00" : "01";
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/** Starts tracing for this process, loading the SDK now (see tracing-sdk.ts). */
export async function startTracing(config: TracingConfig, logger: Logger): Promise<Tracing> {
  const sdk = await import("./tracing-sdk.js");
  return sdk.startTracing(config, logger);
}

export { context, trace };
