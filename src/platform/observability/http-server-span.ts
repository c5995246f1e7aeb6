/**
 * The span of a REST request (kind SERVER), named and described as the OpenTelemetry HTTP
 * conventions ask: `GET /products/:id`, with the method, path, route template and status. It
 * continues the caller's trace when the request came with a `traceparent`. RPCs get no HTTP span:
 * their Connect server span is the request's (rpc-spans.ts), as it is for a call in process, so a
 * trace has the same shape in every topology.
 */
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from "@opentelemetry/api";
import type { AnyRequest } from "../server/request-listener.js";
import { contextFromTraceparent, trace } from "./tracing.js";

export interface HttpServerSpan {
  readonly span: Span;
  /** The context the request's work runs in (the span active). */
  readonly context: Context;
  /** The trace id, when the trace is sampled (so the logs name a trace that exists). */
  readonly traceId: string | undefined;
}

/** `traceparent`: the caller's header, if it sent one (read once, by the caller). */
export function startHttpServerSpan(
  tracer: Tracer,
  request: AnyRequest,
  traceparent: string | undefined,
): HttpServerSpan {
  const method = request.method ?? "";
  const url = request.url ?? "/";
  const queryStart = url.indexOf("?");
  const parent = contextFromTraceparent(traceparent, ROOT_CONTEXT);
  const span = tracer.startSpan(
    method,
    {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": method,
        // The query is left out: it may carry what a trace store should not keep.
        "url.path": queryStart === -1 ? url : url.slice(0, queryStart),
        "url.scheme": "http",
        "network.protocol.version": request.httpVersion,
      },
    },
    parent,
  );
  const spanContext = span.spanContext();
  return {
    span,
    context: trace.setSpan(parent, span),
    traceId: (spanContext.traceFlags & 1) === 1 ? spanContext.traceId : undefined,
  };
}

export function endHttpServerSpan(
  { span }: HttpServerSpan,
  completed: { method: string; route: string; status: number; aborted: boolean },
): void {
  if (completed.route !== "unmatched") {
    span.updateName(`${completed.method} ${completed.route}`);
    span.setAttribute("http.route", completed.route);
  }
  span.setAttribute("http.response.status_code", completed.status);
  if (completed.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  if (completed.aborted) span.setAttribute("error.type", "aborted");
  span.end();
}
