import { create, type DescMessage, type DescMethodUnary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createContextValues,
  type Interceptor,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createMethodUrl, createUniversalHandlerClient } from "@connectrpc/connect/protocol";
import { createTransport } from "@connectrpc/connect/protocol-connect";
import { applyInterceptors } from "./apply-interceptors.js";
import { DeadlineWheel, Expiring } from "./deadline-wheel.js";
import { type HandlerErrorHook, InProcessRouter } from "./in-process-router.js";
import { invokeUnaryHandler } from "./invoke-unary-handler.js";
import { defineLazySignal, LazyAbortController, WithLazySignal } from "./lazy-abort-controller.js";

/** Options of createInProcessTransport. */
export interface InProcessTransportOptions {
  /** Client-side interceptors, as given to createConnectTransport. */
  interceptors?: Interceptor[];
  /** Server-side interceptors around every handler, as given to connectNodeAdapter. */
  serverInterceptors?: Interceptor[];
  /** What a failure of a handler becomes before the caller sees it (see InProcessRouterOptions). */
  onHandlerError?: HandlerErrorHook;
  /**
   * Deep-freeze request and response messages as they cross the boundary, so that code that
   * writes to a message it does not own throws. For tests and development: it costs a walk of
   * every message.
   */
  freezeMessages?: boolean;
}

/** What Transport.unary accepts as request headers (the DOM's HeadersInit, not in this lib). */
type HeadersInit = ConstructorParameters<typeof Headers>[0];

const baseUrl = "https://in-process";

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
 * the same interceptors: nothing in the platform streams yet, and their semantics (half-close,
 * headers before the first message, errors mid-stream) are not worth re-implementing until a
 * stream is hot.
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
  const freezeMessages = options.freezeMessages === true;
  const streaming = createTransport({
    httpClient: createUniversalHandlerClient(router.handlers),
    baseUrl,
    useBinaryFormat: true,
    interceptors,
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
      return callUnary(
        router,
        interceptors,
        freezeMessages,
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
 * The client side of a unary call, following Connect's runUnaryCall: the call has an abort signal
 * that fires on the deadline, on the caller's signal, on failure and, without a reason, on success;
 * a call that ends while aborted fails with the abort reason (`deadline_exceeded`, `canceled`).
 */
function callUnary(
  router: InProcessRouter,
  interceptors: readonly Interceptor[],
  freezeMessages: boolean,
  method: DescMethodUnary,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: HeadersInit | undefined,
  input: MessageInitShape<DescMessage>,
  contextValues: ContextValues | undefined,
): Promise<UnaryResponse> {
  // Connect transports treat a timeout <= 0 as no timeout.
  const timeout = timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined;
  const abort = new LazyAbortController();
  const unguarded = interceptors.length === 0 && signal === undefined;
  let request: UnaryRequest;
  try {
    // Only an interceptor copies the request (with a spread, which needs an own `signal`).
    request = unaryRequest(method, header, input, contextValues, abort, !unguarded);
  } catch (e) {
    return Promise.reject(callFailed(abort, e));
  }
  if (unguarded) {
    if (timeout === undefined) return callUnaryDirectly(router, request, abort, freezeMessages);
    if (timeout >= COARSE_DEADLINE_MIN_MS) {
      return callUnaryWithDeadline(router, request, abort, freezeMessages, timeout);
    }
  }
  return callUnaryGuarded(router, interceptors, freezeMessages, request, abort, signal, timeout);
}

/** Deadlines this long or longer share timers, firing at most DEADLINE_SLACK_MS late (≤ 5 %). */
const COARSE_DEADLINE_MIN_MS = 1_000;
const DEADLINE_SLACK_MS = 50;
const deadlines = new DeadlineWheel(DEADLINE_SLACK_MS);

/**
 * A call only a (long) deadline can end early: every call the gateway makes, with RPC_TIMEOUT_MS.
 * The deadline joins a shared timer and settles the caller's promise if it comes first; the
 * handler's signal follows the call's, so it learns of the deadline as it would over the network.
 * (No closure is made per call but the promise's: under tsx each named one costs a defineProperty.)
 */
function callUnaryWithDeadline(
  router: InProcessRouter,
  request: UnaryRequest,
  abort: LazyAbortController,
  freezeMessages: boolean,
  timeout: number,
): Promise<UnaryResponse> {
  const route = router.findUnary(request.method);
  if (route === undefined) return Promise.reject(callFailed(abort, unimplemented(request.method)));
  return new Promise<UnaryResponse>((resolve, reject) => {
    const call = new DeadlineCall(abort, resolve, reject);
    deadlines.schedule(timeout, call);
    invokeUnaryHandler(route, request, abort, {
      timeoutMs: timeout,
      freezeMessages,
      headerIsPrivate: true,
    }).then(
      (response) => call.answered(response),
      (e: unknown) => call.failed(e),
    );
  });
}

/** One call waiting for its handler or its deadline, whichever comes first. */
class DeadlineCall extends Expiring {
  constructor(
    private readonly abort: LazyAbortController,
    private readonly resolve: (response: UnaryResponse) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    super();
  }

  override expire(): void {
    abortOnDeadline(this.abort);
    this.reject(this.abort.reason);
  }

  answered(response: UnaryResponse): void {
    this.cancelDeadline();
    this.abort.abort();
    this.resolve(response);
  }

  failed(e: unknown): void {
    this.cancelDeadline();
    this.reject(callFailed(this.abort, e));
  }
}

function unaryRequest(
  method: DescMethodUnary,
  header: HeadersInit | undefined,
  input: MessageInitShape<DescMessage>,
  contextValues: ContextValues | undefined,
  abort: LazyAbortController,
  spreadable: boolean,
): UnaryRequest {
  const fields = {
    stream: false as const,
    service: method.parent,
    method,
    requestMethod: "POST",
    url: urlOf(method),
    header: new Headers(header),
    contextValues: contextValues ?? createContextValues(),
    message: create(method.input, input),
  };
  return spreadable ? defineLazySignal(fields, abort) : new InProcessUnaryRequest(fields, abort);
}

/** A request no interceptor sees (see WithLazySignal). */
class InProcessUnaryRequest extends WithLazySignal implements UnaryRequest {
  readonly stream = false as const;
  readonly service: UnaryRequest["service"];
  readonly method: UnaryRequest["method"];
  readonly requestMethod: string;
  readonly url: string;
  readonly header: Headers;
  readonly contextValues: ContextValues;
  readonly message: UnaryRequest["message"];

  constructor(fields: Omit<UnaryRequest, "signal">, abort: LazyAbortController) {
    super(abort);
    this.service = fields.service;
    this.method = fields.method;
    this.requestMethod = fields.requestMethod;
    this.url = fields.url;
    this.header = fields.header;
    this.contextValues = fields.contextValues;
    this.message = fields.message;
  }
}

/**
 * A call nothing can end early (no deadline, no caller's signal, no interceptor): the handler's
 * outcome is the call's, chained straight onto its promise.
 */
function callUnaryDirectly(
  router: InProcessRouter,
  request: UnaryRequest,
  abort: LazyAbortController,
  freezeMessages: boolean,
): Promise<UnaryResponse> {
  const route = router.findUnary(request.method);
  if (route === undefined) return Promise.reject(callFailed(abort, unimplemented(request.method)));
  return invokeUnaryHandler(route, request, abort, {
    timeoutMs: undefined,
    freezeMessages,
    headerIsPrivate: true,
  }).then(
    (response) => {
      abort.abort();
      return response;
    },
    (e: unknown) => {
      throw callFailed(abort, e);
    },
  );
}

/** A call a deadline, the caller's signal or an interceptor may end before its handler does. */
async function callUnaryGuarded(
  router: InProcessRouter,
  interceptors: readonly Interceptor[],
  freezeMessages: boolean,
  request: UnaryRequest,
  abort: LazyAbortController,
  signal: AbortSignal | undefined,
  timeout: number | undefined,
): Promise<UnaryResponse> {
  const unfollowSignal = signal === undefined ? noop : abort.follow(signal);
  const timer = timeout === undefined ? undefined : setTimeout(abortOnDeadline, timeout, abort);
  const call = new UnaryCall({
    router,
    request,
    abort,
    timeout,
    hasSignal: signal !== undefined,
    freezeMessages,
    headersUnshared: interceptors.length === 0,
  });
  try {
    const response =
      interceptors.length === 0
        ? await call.send(request)
        : await applyInterceptors((req) => call.send(req as UnaryRequest), interceptors)(request);
    abort.abort();
    return response as UnaryResponse;
  } catch (e) {
    throw callFailed(abort, e);
  } finally {
    clearTimeout(timer);
    unfollowSignal();
  }
}

/** The error a failed call reports (its abort reason when it was aborted); aborts the call with it. */
function callFailed(abort: LazyAbortController, e: unknown): ConnectError {
  const error = abort.aborted ? ConnectError.from(abort.reason, Code.Canceled) : ConnectError.from(e);
  abort.abort(error);
  return error;
}

function unimplemented(method: DescMethodUnary): ConnectError {
  const path = createMethodUrl("", method);
  return new ConnectError(`in-process transport: no handler registered for ${path}`, Code.Unimplemented);
}

/** What the innermost client function needs to hand a request to the server side. */
interface UnaryCallState {
  readonly router: InProcessRouter;
  readonly request: UnaryRequest;
  readonly abort: LazyAbortController;
  readonly timeout: number | undefined;
  /** The caller passed a signal of its own. */
  readonly hasSignal: boolean;
  readonly freezeMessages: boolean;
  /** No client interceptor saw the request, so nothing but the server holds its headers. */
  readonly headersUnshared: boolean;
}

class UnaryCall {
  constructor(private readonly call: UnaryCallState) {}

  /** Sends `req` (the call's request, or what interceptors made of it) to the handler. */
  send(req: UnaryRequest): Promise<UnaryResponse> {
    const route = this.call.router.findUnary(req.method);
    if (route === undefined) return Promise.reject(unimplemented(req.method));
    // The server follows the signal of the request that reaches it: the call's, unless an
    // interceptor replaced it.
    let source = this.call.abort;
    let unfollowSource = noop;
    if (req !== this.call.request && !source.owns(req.signal)) {
      source = new LazyAbortController();
      unfollowSource = source.follow(req.signal);
    }
    // An aborted call never reaches the server, as a network transport would never send it.
    if (source.aborted) {
      unfollowSource();
      return Promise.reject(source.reason);
    }
    // The request's headers were made for this call (from the caller's HeadersInit); when no
    // interceptor could have kept a reference, the server takes them instead of a copy.
    const reply = invokeUnaryHandler(route, req, source, {
      timeoutMs: this.call.timeout,
      freezeMessages: this.call.freezeMessages,
      headerIsPrivate: this.call.headersUnshared && req === this.call.request,
    });
    // Only a deadline, the caller's signal or an interceptor's own signal can end the call before
    // the handler does; without them there is nothing to race.
    if (source === this.call.abort && this.call.timeout === undefined && !this.call.hasSignal) {
      return reply;
    }
    // The caller stops waiting when the call is aborted, even if the handler ignores its signal.
    return new Promise<UnaryResponse>((resolve, reject) => {
      let settled = false;
      // Checked, because the call's signal also fires when it succeeds, and reading the reason
      // then would create the signal for nothing.
      source.onAbort(() => {
        if (!settled) {
          reject(source.reason);
        }
      });
      reply.then(
        (response) => {
          settled = true;
          resolve(response);
        },
        (error: unknown) => {
          settled = true;
          reject(error);
        },
      );
    }).finally(unfollowSource);
  }
}

function abortOnDeadline(abort: LazyAbortController): void {
  abort.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
}

const urls = new WeakMap<DescMethodUnary, string>();

/** The URL a request for `method` reports, as a network transport would build it. */
function urlOf(method: DescMethodUnary): string {
  let url = urls.get(method);
  if (url === undefined) {
    url = createMethodUrl(baseUrl, method);
    urls.set(method, url);
  }
  return url;
}

function noop(): void {}
