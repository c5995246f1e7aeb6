/**
 * The server side of an in-process unary call: what Connect's unary handler does after parsing the
 * request and before serializing the response. It builds the HandlerContext, runs the server
 * interceptors and the implementation, and answers what the client would read off the wire: the
 * response, or the error (to-client-error.ts). The client side is in-process-transport.ts;
 * docs/architecture.md, "A request", has the whole path.
 */
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  type HandlerContext,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { REQUEST_CONTEXT, requestContextValues } from "../observability/request-context.js";
import { applyInterceptors } from "./apply-interceptors.js";
import { deepFreeze } from "./deep-freeze.js";
import { IN_PROCESS_CALL } from "./in-process-call.js";
import type { UnaryRoute } from "./in-process-router.js";
import { defineLazySignal, LazyAbortController } from "./lazy-abort-controller.js";
import { FieldsHandlerContext, timeLeftUntil } from "./lazy-handler-context.js";
import { toClientError } from "./to-client-error.js";

/** How invokeUnaryHandler treats one call. */
export interface InvokeOptions {
  /** The call's deadline, from now; undefined for none. */
  timeoutMs: number | undefined;
  /** Freeze the request and response messages, so neither side can change the other's. */
  freezeMessages: boolean;
  /** The server may use `req.header` itself: nobody else holds it. */
  headerIsPrivate: boolean;
}

/**
 * Runs `route`'s handler for `req` and answers its response, or throws the error its client gets.
 *
 * `callAbort` is the client call's abort state; the handler's `context.signal` follows it, so a
 * deadline or a cancellation reaches the handler as it would over the network. The handler's signal
 * also fires, without a reason, once the handler is done, and with the thrown value if it fails.
 */
export async function invokeUnaryHandler(
  route: UnaryRoute,
  req: UnaryRequest,
  callAbort: LazyAbortController,
  options: InvokeOptions,
): Promise<UnaryResponse> {
  const { timeoutMs, freezeMessages, headerIsPrivate } = options;
  const { spec } = route;
  const abort = new LazyAbortController();
  abort.follow(callAbort);
  const unfollowShutdown = route.shutdownSignal === undefined ? noop : abort.follow(route.shutdownSignal);
  const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  const context = new FieldsHandlerContext(
    {
      method: spec.method,
      service: spec.method.parent,
      timeoutMs: timeLeftUntil(deadline),
      requestMethod: req.requestMethod,
      // The server's own headers, as it gets them off the wire (a copy unless nobody else holds
      // the client's); Connect's protocol headers
      // (content-type, connect-protocol-version, connect-timeout-ms, user-agent) are not added.
      requestHeader: headerIsPrivate ? req.header : new Headers(req.header),
      // Handlers must not behave differently in-process, and the semantics kept are Connect's.
      protocolName: "connect",
      // The client's context values do not cross the boundary: they do not with
      // createRouterTransport or over the network either, and a handler that relied on them
      // would break the day its module moves to another process. The one exception is the request
      // the call serves, which crosses the network too (as x-request-id; platform/observability).
      // The handler's side also learns that its caller is in this process (in-process-call.ts).
      values: handlerValues(req.contextValues),
      url: req.url,
    },
    abort,
  );
  try {
    if (timeoutMs !== undefined && timeoutMs > route.maxTimeoutMs) {
      throw new ConnectError(`timeout ${timeoutMs}ms must be <= ${route.maxTimeoutMs}`, Code.InvalidArgument);
    }
    const input = freezeMessages ? deepFreeze(req.message) : req.message;
    let message: MessageShape<DescMessage>;
    if (route.interceptors.length === 0) {
      // A handler that answers synchronously (a warm cache read) costs no extra microtask.
      const output = spec.impl(input, context);
      message = create(spec.method.output, output instanceof Promise ? await output : output);
    } else {
      message = await runServerInterceptors(route, context, abort, input);
    }
    abort.abort();
    return new InProcessUnaryResponse(req, context, freezeMessages ? deepFreeze(message) : message);
  } catch (thrown) {
    const e = route.onError === undefined ? thrown : route.onError(thrown, context);
    abort.abort(e);
    throw toClientError(e, context.responseHeader, context.responseTrailer);
  } finally {
    unfollowShutdown();
  }
}

function handlerValues(clientValues: ContextValues): ContextValues {
  return requestContextValues(clientValues.get(REQUEST_CONTEXT)).set(IN_PROCESS_CALL, true);
}

/**
 * Connect's invokeUnaryImplementation, without touching the lazy signal unless someone asks (also
 * what the one port's unary fast path runs: server/connect-unary-fast-path.ts).
 */
export async function runServerInterceptors(
  route: UnaryRoute,
  context: HandlerContext,
  abort: LazyAbortController,
  input: MessageShape<DescMessage>,
): Promise<MessageShape<DescMessage>> {
  const { spec } = route;
  const request: UnaryRequest = defineLazySignal(
    {
      stream: false as const,
      service: context.service,
      method: spec.method,
      requestMethod: context.requestMethod,
      url: context.url,
      header: context.requestHeader,
      contextValues: context.values,
      message: input,
    },
    abort,
  );
  const handle = async (req: UnaryRequest): Promise<UnaryResponse> => {
    const output = await spec.impl(req.message, req === request ? context : mergeRequest(context, req));
    return {
      stream: false,
      service: context.service,
      method: spec.method,
      header: context.responseHeader,
      trailer: context.responseTrailer,
      message: create(spec.method.output, output),
    };
  };
  const response = (await applyInterceptors(
    (req) => handle(req as UnaryRequest),
    route.interceptors,
  )(request)) as UnaryResponse;
  copyHeaders(response.header, context.responseHeader);
  copyHeaders(response.trailer, context.responseTrailer);
  return response.message;
}

/** The context a handler sees when an interceptor passed on a request object of its own. */
function mergeRequest(context: HandlerContext, req: UnaryRequest): HandlerContext {
  return {
    ...context,
    // Getters on the prototype, which a spread does not copy.
    responseHeader: context.responseHeader,
    responseTrailer: context.responseTrailer,
    service: req.service,
    requestHeader: req.header,
    signal: req.signal,
    values: req.contextValues,
  };
}

function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) {
    return;
  }
  for (const key of [...to.keys()]) {
    to.delete(key);
  }
  from.forEach((value, key) => {
    to.set(key, value);
  });
}

function noop(): void {}

/**
 * What the caller gets: the handler's message, and its response headers and trailers, handed over
 * rather than copied (the handler is done with them) and made only if someone reads them.
 */
class InProcessUnaryResponse implements UnaryResponse {
  readonly stream = false as const;
  readonly service: UnaryResponse["service"];
  readonly method: UnaryResponse["method"];

  constructor(
    req: UnaryRequest,
    private readonly context: FieldsHandlerContext,
    readonly message: UnaryResponse["message"],
  ) {
    this.service = req.service;
    this.method = req.method;
  }

  get header(): Headers {
    return this.context.responseHeader;
  }

  get trailer(): Headers {
    return this.context.responseTrailer;
  }
}
