/**
 * Work done once for several requests (a batch of their calls): a trace of its own, whose span
 * links to the span of every request it serves, so that each request's trace leads to it and it
 * to each of them — rather than landing in whichever request's trace happened to start it. With
 * tracing off, nothing is made (docs/operations.md, "Tracing").
 */
import { type Context, type Link, ROOT_CONTEXT, SpanKind } from "@opentelemetry/api";
import { endedWith } from "./span-end.js";
import { activeTracer, context, trace } from "./tracing.js";

/** A request's span, as the work that later serves it links to it. */
export type RequestLink = Link;

/**
 * The request being served now, as work done later for it continues its trace: alone, in its
 * context (inRequestsTrace); for several, under a span linked to it (workForMany).
 */
export interface RequestTrace {
  readonly context: Context;
  readonly link: RequestLink;
}

/** The trace of the request being served now; undefined with tracing off or no span active. */
export function thisRequestsTrace(): RequestTrace | undefined {
  if (activeTracer() === undefined) return undefined;
  const active = context.active();
  const spanContext = trace.getSpanContext(active);
  return spanContext === undefined ? undefined : { context: active, link: { context: spanContext } };
}

/**
 * Runs `work` in `request`'s trace: a call made later for that request alone (a batcher sending
 * a lone item from its loop, which runs in whichever request's context started it) is then part
 * of its own request's trace. Without a trace, just runs it.
 */
export function inRequestsTrace<T>(request: RequestTrace | undefined, work: () => T): T {
  return request === undefined ? work() : context.with(request.context, work);
}

/**
 * Runs `work` in a trace of its own, under a span `name` linked to each of `requests` (one per
 * request served; undefined ones skipped); with tracing off, just runs it.
 */
export function workForMany<T>(
  name: string,
  requests: readonly (RequestTrace | undefined)[],
  work: () => Promise<T>,
): Promise<T> {
  const tracer = activeTracer();
  if (tracer === undefined) return work();
  const span = tracer.startSpan(
    name,
    {
      kind: SpanKind.INTERNAL,
      links: requests.flatMap((request) => (request === undefined ? [] : [request.link])),
      attributes: { "batch.size": requests.length },
    },
    ROOT_CONTEXT,
  );
  return endedWith(span, context.with(trace.setSpan(ROOT_CONTEXT, span), work));
}
