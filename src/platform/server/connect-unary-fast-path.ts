/**
 * The one port's fast path for the calls modules make to each other over the network: a Connect
 * unary call with a binary body (POST, `application/proto`, no compression, no declared length
 * over the limit) is read and answered here, the request message handed to the implementation
 * with the same server interceptors, context values, deadline and handler options connect-node's
 * adapter would give it. Everything else (gRPC, gRPC-Web, Connect JSON, GET, streams, compressed
 * bodies, a client that accepts a compressed answer, a body declared over the limit) goes to the
 * fallback, connect-node's adapter, unchanged.
 *
 * Why: connect-node's handler costs several times the HTTP exchange itself per call (an
 * AbortController, a DOMException and a deadline signal per call, async iterables around one
 * body, Headers conversions both ways), where this path uses the in-process transport's lazy
 * pieces (network-transport.ts is the client half; BENCHMARKS.md, "Four processes vs one"). The
 * answer is the Connect protocol's: the message, or the error as Connect's JSON error body with
 * the HTTP status of its code, the handler's response headers as headers and its trailers as
 * `trailer-` headers, all written with Connect's own functions.
 */
import { create, type DescMethod } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createContextValues,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import {
  codeToHttpStatus,
  errorToJsonBytes,
  parseTimeout,
  trailerMux,
} from "@connectrpc/connect/protocol-connect";
import { CallDeadline } from "../transport/call-deadline.js";
import { serializationOf, webHeaders } from "../transport/http-unary-exchange.js";
import { InProcessRouter, type UnaryRoute } from "../transport/in-process-router.js";
import { runServerInterceptors } from "../transport/invoke-unary-handler.js";
import { LazyAbortController } from "../transport/lazy-abort-controller.js";
import { LazyHandlerContext, timeLeftUntil } from "../transport/lazy-handler-context.js";
import { readBody, TOO_LARGE } from "./read-body.js";
import type { AnyRequest, AnyResponse, RequestListener } from "./request-listener.js";

export interface ConnectUnaryFastPathOptions {
  /** The services, as given to connectNodeAdapter. */
  routes: (router: ConnectRouter) => void;
  /** Server interceptors, as given to connectNodeAdapter. */
  interceptors?: Interceptor[];
  /** A handler's context values, as connectNodeAdapter's `contextValues` option. */
  contextValues?: (request: AnyRequest) => ContextValues;
  /** The largest request body, as connectNodeAdapter's `readMaxBytes`: a larger one goes to the fallback. */
  readMaxBytes: number;
}

/** `fallback` (connect-node's adapter, which then answers everything else), with the fast path in front. */
export function connectUnaryFastPath(
  options: ConnectUnaryFastPathOptions,
  fallback: RequestListener,
): RequestListener {
  const routes = unaryRoutesByPath(options);
  const { readMaxBytes } = options;
  const contextValues = options.contextValues ?? (() => createContextValues());
  return (request, response) => {
    const route = request.method === "POST" ? routes.get(request.url as string) : undefined;
    if (route === undefined || !servedHere(request, readMaxBytes)) {
      fallback(request, response);
      return;
    }
    serveUnary(route, request, response, contextValues(request), readMaxBytes).catch(() => {
      // Only writing the answer can fail (a header HTTP/2 refuses): the stream ends unanswered.
      response.destroy();
    });
  };
}

/** The unary methods `routes` registers, by request path, with their handler options. */
function unaryRoutesByPath(options: ConnectUnaryFastPathOptions): Map<string, UnaryRoute> {
  const router = new InProcessRouter({ interceptors: options.interceptors ?? [] });
  const methods: DescMethod[] = [];
  const recording: ConnectRouter = {
    get handlers() {
      return router.handlers;
    },
    service(service, implementation, handlerOptions) {
      router.service(service, implementation, handlerOptions);
      methods.push(...service.methods);
      return recording;
    },
    rpc(method, impl, handlerOptions) {
      router.rpc(method, impl, handlerOptions);
      methods.push(method);
      return recording;
    },
  };
  options.routes(recording);
  const byPath = new Map<string, UnaryRoute>();
  for (const method of methods) {
    const route = method.methodKind === "unary" ? router.findUnary(method) : undefined;
    // Per-service size or compression options are connect-node's to apply.
    if (route !== undefined) byPath.set(`/${method.parent.typeName}/${method.name}`, route);
  }
  return byPath;
}

/** Whether the request is one the fast path answers exactly as connect-node would. */
function servedHere(request: AnyRequest, readMaxBytes: number): boolean {
  const headers = request.headers;
  if (headers["content-type"] !== "application/proto") return false;
  const encoding = headers["content-encoding"];
  if (encoding !== undefined && encoding !== "identity") return false;
  // connect-node would compress a large answer for a client that accepts it.
  const accepted = headers["accept-encoding"];
  if (accepted !== undefined && accepted !== "identity") return false;
  const version = headers["connect-protocol-version"];
  if (version !== undefined && version !== "1") return false;
  // A body declared over the limit is refused by connect-node, with the size it declared; one
  // without a declared length (chunked, or an HTTP/2 stream) is read here up to the limit.
  const length = headers["content-length"];
  return length === undefined || (/^\d{1,10}$/.test(length) && Number(length) <= readMaxBytes);
}

/**
 * Connect's unary handler (createUnaryHandler of @connectrpc/connect/protocol-connect) for one
 * request: the deadline from connect-timeout-ms, the body, the implementation behind the server
 * interceptors, and the answer. The handler's signal fires on the deadline, when the client goes
 * away, on the service's shutdown signal, with the error when it fails, and once it is done.
 */
async function serveUnary(
  route: UnaryRoute,
  request: AnyRequest,
  response: AnyResponse,
  values: ContextValues,
  readMaxBytes: number,
): Promise<void> {
  const headers = request.headers;
  const timeout = parseTimeout(
    (headers["connect-timeout-ms"] as string | undefined) ?? null,
    route.maxTimeoutMs,
  );
  const abort = new LazyAbortController();
  // The client went away (its connection or stream closed before the answer was written).
  const onClose = () => abort.abort();
  response.once("close", onClose);
  const unfollowShutdown = route.shutdownSignal === undefined ? noop : abort.follow(route.shutdownSignal);
  const deadline = timeout.timeoutMs === undefined ? undefined : new CallDeadline(abort, timeout.timeoutMs);
  const { method } = route.spec;
  const context = new ServedContext(request, method, timeout.timeoutMs, values, abort);
  const serialization = serializationOf(method);
  let status = 200;
  let body: Uint8Array;
  try {
    if (timeout.error !== undefined) throw timeout.error;
    const bytes = await readBody(request, readMaxBytes);
    // What Connect's readAllBytes says of a body without a declared length that goes past the limit.
    if (bytes === TOO_LARGE) {
      throw new ConnectError(
        `message size is larger than configured readMaxBytes ${readMaxBytes}`,
        Code.ResourceExhausted,
      );
    }
    const input = serialization.getI(true).parse(bytes);
    let output: unknown;
    if (route.interceptors.length === 0) {
      const answer = route.spec.impl(input, context);
      output = create(method.output, answer instanceof Promise ? await answer : answer);
    } else {
      output = await runServerInterceptors(route, context, abort, input);
    }
    body = serialization.getO(true).serialize(output as never);
    abort.abort();
  } catch (e) {
    abort.abort(e);
    if (response.destroyed) return;
    const error =
      e instanceof ConnectError
        ? e
        : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
    status = codeToHttpStatus(error.code);
    const header = context.responseHeader;
    header.set("content-type", "application/json");
    error.metadata.forEach((value, key) => {
      header.set(key, value);
    });
    try {
      body = errorToJsonBytes(error, undefined);
    } catch (serializing) {
      body = errorToJsonBytes(ConnectError.from(serializing, Code.Internal), undefined);
    }
  } finally {
    deadline?.cancel();
    unfollowShutdown();
    response.off("close", onClose);
  }
  if (response.destroyed) return;
  writeAnswer(response, status, context, body);
}

/** The answer as connect-node writes it: the handler's headers, its trailers as `trailer-` headers. */
function writeAnswer(response: AnyResponse, status: number, context: ServedContext, body: Uint8Array): void {
  const out: Record<string, string | string[]> = {};
  const { header, trailer } = context.setHeaders();
  if (header !== undefined || trailer !== undefined) {
    const all = trailer === undefined ? (header as Headers) : trailerMux(header ?? new Headers(), trailer);
    all.forEach((value, key) => {
      out[key] = value;
    });
    const cookies = all.getSetCookie();
    if (cookies.length > 0) out["set-cookie"] = cookies;
  }
  out["content-type"] ??= "application/proto";
  out["content-length"] = String(body.byteLength);
  (response as import("node:http").ServerResponse).writeHead(status, out);
  response.end(body);
}

/**
 * The handler's context, as connect-node's createHandlerContext builds it, but its signal and its
 * response headers and trailers are made only if used (most calls set none). The request headers
 * are made at once: nearly every handler reads them (the caller's token). Own fields for
 * everything a spread copy must keep (mergeRequest in invoke-unary-handler.ts).
 */
class ServedContext extends LazyHandlerContext implements HandlerContext {
  readonly service: HandlerContext["service"];
  readonly timeoutMs: () => number | undefined;
  readonly requestMethod = "POST";
  readonly requestHeader: Headers;
  readonly protocolName = "connect";
  readonly url: string;

  constructor(
    request: AnyRequest,
    readonly method: DescMethod,
    timeoutMs: number | undefined,
    readonly values: ContextValues,
    abort: LazyAbortController,
  ) {
    super(abort);
    this.service = method.parent;
    this.timeoutMs = timeLeftUntil(timeoutMs === undefined ? undefined : Date.now() + timeoutMs);
    this.requestHeader = webHeaders(request.headers);
    const authority = "authority" in request ? request.authority : request.headers.host;
    const encrypted = "encrypted" in request.socket && request.socket.encrypted === true;
    this.url = `${encrypted ? "https" : "http"}://${authority}${request.url}`;
  }
}

function noop(): void {}
