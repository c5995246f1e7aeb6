/**
 * The general path of an in-process unary call: one a short deadline, the caller's signal or a
 * client interceptor may end before its handler does. The caller stops waiting as soon as the call
 * is aborted, even if the handler ignores its signal, and an interceptor may replace the request
 * (its signal included) on the way. How a path is chosen: in-process-transport.ts.
 */
import type { UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import { applyInterceptors } from "./apply-interceptors.js";
import { abortOnDeadline, callFailed, unimplemented } from "./call-failure.js";
import type { InProcessRouter } from "./in-process-router.js";
import { invokeUnaryHandler } from "./invoke-unary-handler.js";
import { LazyAbortController } from "./lazy-abort-controller.js";
import type { UnaryCallSettings } from "./unary-call-settings.js";

export async function callUnaryGuarded(
  settings: UnaryCallSettings,
  request: UnaryRequest,
  abort: LazyAbortController,
  signal: AbortSignal | undefined,
  timeout: number | undefined,
): Promise<UnaryResponse> {
  const { interceptors } = settings;
  const unfollowSignal = signal === undefined ? noop : abort.follow(signal);
  const timer = timeout === undefined ? undefined : setTimeout(abortOnDeadline, timeout, abort);
  const call = new UnaryCall({
    router: settings.router,
    request,
    abort,
    timeout,
    hasSignal: signal !== undefined,
    freezeMessages: settings.freezeMessages,
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

function noop(): void {}
