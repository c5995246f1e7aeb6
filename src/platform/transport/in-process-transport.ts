/**
 * The transport modules in one process call each other through: the request message is handed to
 * the implementation, with Connect's semantics kept (docs/architecture.md, "A request"). This file
 * builds it and picks, per call, the cheapest path that keeps those semantics; the paths are
 * direct-unary-call.ts, deadline-unary-call.ts and guarded-unary-call.ts.
 */
import type { DescMessage, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import {
  type Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  type Interceptor,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createUniversalHandlerClient } from "@connectrpc/connect/protocol";
import { createTransport } from "@connectrpc/connect/protocol-connect";
import { callTimeout } from "./call-deadline.js";
import { callFailed, unimplemented } from "./call-failure.js";
import { COARSE_DEADLINE_MIN_MS, callUnaryWithDeadline } from "./deadline-unary-call.js";
import { callUnaryDirectly } from "./direct-unary-call.js";
import { callUnaryGuarded } from "./guarded-unary-call.js";
import { type HandlerErrorHook, InProcessRouter } from "./in-process-router.js";
import { defineLazySignal, LazyAbortController } from "./lazy-abort-controller.js";
import type { UnaryCallSettings } from "./unary-call-settings.js";
import {
  type HeadersInit,
  IN_PROCESS_BASE_URL,
  InProcessUnaryRequest,
  unaryRequestFields,
} from "./unary-request.js";

/** See InProcessTransportOptions.onUnaryCompleted. */
export type UnaryCompletedHook = (method: DescMethodUnary, code: Code | undefined, seconds: number) => void;

/** Options of createInProcessTransport. */
export interface InProcessTransportOptions {
  /** Client-side interceptors, as given to createConnectTransport. */
  interceptors?: Interceptor[];
  /**
   * Client-side interceptors of streaming calls only, after `interceptors`: a unary call reports
   * through `onUnaryCompleted` instead, which keeps it on its direct path.
   */
  streamInterceptors?: Interceptor[];
  /** Server-side interceptors around every handler, as given to connectNodeAdapter. */
  serverInterceptors?: Interceptor[];
  /** What a failure of a handler becomes before the caller sees it (see InProcessRouterOptions). */
  onHandlerError?: HandlerErrorHook;
  /**
   * Called once per unary call as it settles, with the Connect code the caller got (undefined on
   * success) and how long it took: the RPC metrics, without an interceptor (which would take every
   * call off the direct path).
   */
  onUnaryCompleted?: UnaryCompletedHook;
  /**
   * Deep-freeze request and response messages as they cross the boundary, so that code that
   * writes to a message it does not own throws. For tests and development: it costs a walk of
   * every message.
   */
  freezeMessages?: boolean;
}

/**
 * Build a transport that dispatches to the services registered by `routes` in this process.
 *
 * Unary calls hand the request message object to the implementation and its response object back
 * to the caller: no serialization and no copy. That is what makes the call nearly free. The price
 * is aliasing: a handler that wrote to its request would change the caller's object, and a caller
 * that wrote to a response could change an object the handler keeps (its cache hands out shared
 * ones), neither of which createRouterTransport allows. We do not clone to prevent it, because
 * messages crossing a module boundary are immutable by rule: cloning (by reflection in
 * protobuf-es) would cost more than the rest of the call, on every call, to protect only code that
 * breaks the rule. `freezeMessages` makes such code throw in tests instead.
 *
 * Everything else keeps Connect's semantics and matches createRouterTransport:
 * errors (codes, messages, metadata, details, `internal` for anything that is not a
 * ConnectError), deadlines, cancellation, headers, trailers, client and server interceptors,
 * per-service handler options (`interceptors`, `maxTimeoutMs`, `shutdownSignal`; the size and
 * compression limits do not apply without bytes).
 *
 * Streaming calls go through Connect's own in-memory path (what createRouterTransport uses), with
 * the same interceptors: the platform's one stream (WatchOrders) is a long-lived watch a few admins
 * hold, not a hot path, and the semantics of streams (half-close, headers before the first
 * message, errors mid-stream, deadlines and cancellation) are not worth re-implementing for it.
 */
export function createInProcessTransport(
  routes: (router: ConnectRouter) => void,
  options: InProcessTransportOptions = {},
): Transport {
  const router = new InProcessRouter({
    interceptors: options.serverInterceptors ?? [],
    onHandlerError: options.onHandlerError,
  });
  routes(router);
  const interceptors = options.interceptors ?? [];
  const settings: UnaryCallSettings = {
    router,
    interceptors,
    freezeMessages: options.freezeMessages === true,
  };
  const streaming = createTransport({
    httpClient: createUniversalHandlerClient(router.handlers),
    baseUrl: IN_PROCESS_BASE_URL,
    useBinaryFormat: true,
    interceptors: [...interceptors, ...(options.streamInterceptors ?? [])],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: Number.MAX_SAFE_INTEGER,
    readMaxBytes: Number.MAX_SAFE_INTEGER,
    writeMaxBytes: Number.MAX_SAFE_INTEGER,
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
      const call = callUnary(
        settings,
        method as unknown as DescMethodUnary,
        signal,
        timeoutMs,
        header,
        input as MessageInitShape<DescMessage>,
        contextValues,
      );
      const completed = options.onUnaryCompleted;
      const observed =
        completed === undefined ? call : timed(call, method as unknown as DescMethodUnary, completed);
      return observed as unknown as Promise<UnaryResponse<I, O>>;
    },
    stream: streaming.stream.bind(streaming),
  };
}

/** `call`, reported to `completed` once it settles. */
function timed(call: Promise<UnaryResponse>, method: DescMethodUnary, completed: UnaryCompletedHook) {
  const started = performance.now();
  return call.then(
    (response) => {
      completed(method, undefined, (performance.now() - started) / 1000);
      return response;
    },
    (error: unknown) => {
      completed(method, ConnectError.from(error).code, (performance.now() - started) / 1000);
      throw error;
    },
  );
}

/**
 * The client side of a unary call, following Connect's runUnaryCall: the call has an abort signal
 * that fires on the deadline, on the caller's signal, on failure and, without a reason, on success;
 * a call that ends while aborted fails with the abort reason (`deadline_exceeded`, `canceled`).
 */
function callUnary(
  settings: UnaryCallSettings,
  method: DescMethodUnary,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: HeadersInit | undefined,
  input: MessageInitShape<DescMessage>,
  contextValues: ContextValues | undefined,
): Promise<UnaryResponse> {
  const timeout = callTimeout(timeoutMs);
  const abort = new LazyAbortController();
  const unguarded = settings.interceptors.length === 0 && signal === undefined;
  let request: UnaryRequest;
  try {
    const fields = unaryRequestFields(method, header, input, contextValues);
    // Only an interceptor copies the request (with a spread, which needs an own `signal`).
    request = unguarded ? new InProcessUnaryRequest(fields, abort) : defineLazySignal(fields, abort);
  } catch (e) {
    return Promise.reject(callFailed(abort, e));
  }
  // Without an interceptor or the caller's signal, and with no deadline or a long one, nothing
  // needs racing against the handler or a timer of its own.
  if (unguarded && (timeout === undefined || timeout >= COARSE_DEADLINE_MIN_MS)) {
    const route = settings.router.findUnary(method);
    if (route === undefined) return Promise.reject(callFailed(abort, unimplemented(method)));
    return timeout === undefined
      ? callUnaryDirectly(settings, route, request, abort)
      : callUnaryWithDeadline(settings, route, request, abort, timeout);
  }
  return callUnaryGuarded(settings, request, abort, signal, timeout);
}
