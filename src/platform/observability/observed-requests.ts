/**
 * Every request the one port serves, REST and RPC alike, observed in one place: it gets its id
 * (answered in `x-request-id` and attached to the request for the code that passes it on), and
 * leaves one access-log line once its response is ended or abandoned (docs/operations.md,
 * "Logs").
 *
 * A wrapper around the Node listener rather than a Hono middleware or a Connect interceptor: it
 * sees requests refused before either (body limit, undecodable URL), and a middleware would make
 * Hono compose a chain for every request, which cost ~5 % of the cached read's throughput
 * (BENCHMARKS.md, "Platform structure (issue #11)").
 */
import { performance } from "node:perf_hooks";
import type { Logger } from "../logger.js";
import { REQUEST_ID_HEADER, requestIdFrom } from "../rpc/request-id.js";
import type { AnyRequest, AnyResponse, RequestListener } from "../server/request-listener.js";
import { AccessLog } from "./access-log.js";
import { endHttpServerSpan, type HttpServerSpan, startHttpServerSpan } from "./http-server-span.js";
import { rawHeader } from "./raw-header.js";
import { attachRequestContext, type RequestContext } from "./request-context.js";
import { traceIdOf } from "./traceparent.js";
import { activeTracer, context as otelContext } from "./tracing.js";

/** One request, once its response is ended or abandoned. */
export interface CompletedRequest {
  readonly method: string;
  /** The route template ("/products/:id"), the RPC's path, or "unmatched": never the raw URL. */
  readonly route: string;
  readonly status: number;
  readonly seconds: number;
  /**
   * True when the connection closed before the whole response was written. A response ended
   * before the listener returned is recorded then, and counts as written.
   */
  readonly aborted: boolean;
  readonly context: RequestContext;
}

export interface ObservedRequestsOptions {
  readonly logger: Logger;
  /** The route a request's method and URL resolve to; must come from a bounded set. */
  readonly routeOf: (method: string, url: string) => string;
  /** Called for every request once it is over (metrics). */
  readonly onCompleted?: (request: CompletedRequest) => void;
  /**
   * Whether a URL is an RPC's: those get their span from the Connect server, not here, and their
   * `x-request-id` from here. Any other request's listener must answer `x-request-id` itself
   * (with `requestContextOf(request)`), inside its writeHead: a header set beforehand sends Node
   * down its slower merging path, 1.1 µs per request. Without `isRpc`, every request gets it here.
   */
  readonly isRpc?: (url: string) => boolean;
}

export function observeRequests(
  listener: RequestListener,
  options: ObservedRequestsOptions,
): RequestListener {
  const { routeOf, onCompleted, isRpc } = options;
  const accessLog = new AccessLog(options.logger);
  const record = (
    request: AnyRequest,
    response: AnyResponse,
    started: number,
    context: RequestContext,
    traced: HttpServerSpan | undefined,
    aborted: boolean,
  ) => {
    const method = request.method ?? "";
    const completed: CompletedRequest = {
      method,
      route: routeOf(method, request.url ?? "/"),
      status: response.statusCode,
      seconds: (performance.now() - started) / 1000,
      aborted,
      context,
    };
    if (traced !== undefined) endHttpServerSpan(traced, completed);
    onCompleted?.(completed);
    if (accessLog.enabled) accessLog.write(completed);
  };
  return (request, response) => {
    const started = performance.now();
    const traceparent = rawHeader(request, "traceparent");
    const context: RequestContext = {
      requestId: requestIdFrom(rawHeader(request, REQUEST_ID_HEADER)),
      traceId: traceIdOf(traceparent),
    };
    attachRequestContext(request, context);
    const rpc = isRpc?.(request.url ?? "/");
    if (rpc !== false) response.setHeader(REQUEST_ID_HEADER, context.requestId);
    const tracer = activeTracer();
    const traced =
      tracer === undefined || rpc === true ? undefined : startHttpServerSpan(tracer, request, traceparent);
    if (traced !== undefined) context.traceId = traced.traceId;
    if (traced === undefined) listener(request, response);
    else otelContext.with(traced.context, () => listener(request, response));
    if (response.writableEnded) {
      // Answered before the listener returned (the cached read): the whole response is with the
      // socket already, so it is recorded now rather than on 'close', a closure, a listener and an
      // event less per request. Its duration ends when it was handed over.
      record(request, response, started, context, traced, false);
      return;
    }
    // `on`, not `once`: 'close' comes once, and `once` would allocate a wrapper per request.
    response.on("close", () =>
      record(request, response, started, context, traced, !response.writableFinished),
    );
  };
}
