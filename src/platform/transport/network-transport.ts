/**
 * The transport of a module client whose module runs in another process (its *_URL is set):
 * unary calls speak the Connect protocol over node:http with a keep-alive agent
 * (http-unary-exchange.ts), streams go through connect-node's transport over HTTP/2. Why unary
 * calls do not go through connect-node: one of its calls cost 5–13 times the CPU of a bare
 * node:http exchange of the same bytes (HTTP/2, HTTP/1.1; BENCHMARKS.md, "Split without the
 * slowdown"), most of it per-call machinery rather than the wire (AbortSignals and a DOMException
 * per call, async iterables around one body, Headers conversions); this path keeps Connect's
 * semantics with the in-process transport's cheaper pieces (a lazy abort signal, shared deadline
 * timers), and a standard Connect server reads its requests. Streams (WatchOrders) are long-lived
 * and few: connect-node's HTTP/2 session suits them and they are not worth a path of their own.
 */
import type http from "node:http";
import type { DescMessage, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import {
  type ContextValues,
  createContextValues,
  type Interceptor,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { requestHeader } from "@connectrpc/connect/protocol-connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { applyInterceptors } from "./apply-interceptors.js";
import { CallDeadline, callTimeout } from "./call-deadline.js";
import { callFailed } from "./call-failure.js";
import { exchangeUnary, type HttpEndpoint, httpEndpoint } from "./http-unary-exchange.js";
import { defineLazySignal, LazyAbortController } from "./lazy-abort-controller.js";
import type { HeadersInit } from "./unary-request.js";

export interface NetworkTransportOptions {
  /** The process that hosts the module, e.g. http://inventory:3000. */
  baseUrl: string;
  /** Client interceptors of every call, unary and streaming, the first one outermost. */
  interceptors?: Interceptor[];
  /** The agent of unary calls (tests); by default one of the transport's own, keeping sockets alive. */
  agent?: http.Agent;
}

export function createNetworkTransport(options: NetworkTransportOptions): Transport {
  const interceptors = options.interceptors ?? [];
  const endpoint = httpEndpoint(options.baseUrl, options.agent);
  const streaming = createConnectTransport({
    baseUrl: options.baseUrl,
    // HTTP/2 (cleartext, prior knowledge: the one-port server recognises the preface): one
    // multiplexed session per module for its long-lived streams.
    httpVersion: "2",
    interceptors,
  });
  return {
    unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      return callUnary(
        endpoint,
        interceptors,
        method as unknown as DescMethodUnary,
        signal,
        timeoutMs,
        header,
        input as MessageInitShape<DescMessage>,
        contextValues,
      ) as unknown as Promise<UnaryResponse<I, O>>;
    },
    stream: streaming.stream.bind(streaming),
  };
}

/**
 * Connect's runUnaryCall over the wire: the call's signal fires on the deadline
 * (`deadline_exceeded`), on the caller's signal, on failure and, without a reason, on success; a
 * call that ends while aborted fails with the abort reason. The request is the one
 * createTransport of @connectrpc/connect/protocol-connect makes (its headers by Connect's
 * requestHeader: content type, protocol version, connect-timeout-ms, user agent), so interceptors
 * see what they would see with connect-node, but for the accept-encoding it would add: this client
 * asks for no compression.
 */
async function callUnary(
  endpoint: HttpEndpoint,
  interceptors: readonly Interceptor[],
  method: DescMethodUnary,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: HeadersInit | undefined,
  input: MessageInitShape<DescMessage>,
  contextValues: ContextValues | undefined,
): Promise<UnaryResponse> {
  const timeout = callTimeout(timeoutMs);
  const abort = new LazyAbortController();
  const request: UnaryRequest = defineLazySignal(
    {
      stream: false as const,
      service: method.parent,
      method,
      requestMethod: "POST",
      url: endpoint.urlOf(method),
      header: requestHeader("unary", true, timeout, header, true),
      contextValues: contextValues ?? createContextValues(),
      message: create(method.input, input),
    },
    abort,
  );
  const unfollowSignal = signal === undefined ? noop : abort.follow(signal);
  const deadline = timeout === undefined ? undefined : new CallDeadline(abort, timeout);
  const send = (req: UnaryRequest) => sendRequest(endpoint, request, abort, req);
  try {
    const response =
      interceptors.length === 0
        ? await send(request)
        : ((await applyInterceptors(
            (req) => send(req as UnaryRequest),
            interceptors,
          )(request)) as UnaryResponse);
    abort.abort();
    return response;
  } catch (e) {
    throw callFailed(abort, e);
  } finally {
    deadline?.cancel();
    unfollowSignal();
  }
}

/** Sends `req`: the call's request, or the one interceptors made of it, following its signal. */
async function sendRequest(
  endpoint: HttpEndpoint,
  callRequest: UnaryRequest,
  abort: LazyAbortController,
  req: UnaryRequest,
): Promise<UnaryResponse> {
  let source = abort;
  let unfollowSource = noop;
  if (req !== callRequest && !abort.owns(req.signal)) {
    source = new LazyAbortController();
    unfollowSource = source.follow(req.signal);
    abort.onAbort((reason) => source.abort(reason));
  }
  try {
    // An aborted call is never sent.
    if (source.aborted) throw source.reason;
    return await exchangeUnary(endpoint, req, source);
  } finally {
    unfollowSource();
  }
}

function noop(): void {}
