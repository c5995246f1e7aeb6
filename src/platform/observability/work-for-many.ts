/**
 * Work done once for several requests (a batch of their calls): a trace of its own, whose span
 * links to the span of every request it serves, so that each request's trace leads to it and it
 * to each of them — rather than landing in whichever request's trace happened to start it. With
 * tracing off, nothing is made (docs/operations.md, "Tracing").
 */
import { type Link, ROOT_CONTEXT, SpanKind } from "@opentelemetry/api";
import { endedWith } from "./span-end.js";
import { activeTracer, context, trace } from "./tracing.js";

/** A request's span, as the work that later serves it links to it. */
export type RequestLink = Link;

/** The span active now (the request being served), to link to later; undefined when there is none. */
export function linkToThisRequest(): RequestLink | undefined {
  if (activeTracer() === undefined) return undefined;
  const spanContext = trace.getSpanContext(context.active());
  return spanContext === undefined ? undefined : { context: spanContext };
}

/**
 * Runs `work` in a trace of its own, under a span `name` linked to each of `links` (one per
 * request served; undefined ones skipped); with tracing off, just runs it.
 */
export function workForMany<T>(
  name: string,
  links: readonly (RequestLink | undefined)[],
  work: () => Promise<T>,
): Promise<T> {
  const tracer = activeTracer();
  if (tracer === undefined) return work();
  const span = tracer.startSpan(
    name,
    {
      kind: SpanKind.INTERNAL,
      links: links.filter((link): link is RequestLink => link !== undefined),
      attributes: { "batch.size": links.length },
    },
    ROOT_CONTEXT,
  );
  return endedWith(span, context.with(trace.setSpan(ROOT_CONTEXT, span), work));
}
