/**
 * The path of an in-process unary call that only a long deadline can end early: every call the
 * gateway makes, with RPC_TIMEOUT_MS (docs/architecture.md, "A request"). The deadline joins a
 * timer shared with other calls (deadline-wheel.ts) instead of arming one of its own.
 */
import type { UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import { abortOnDeadline, callFailed } from "./call-failure.js";
import { DeadlineWheel, Expiring } from "./deadline-wheel.js";
import type { UnaryRoute } from "./in-process-router.js";
import { invokeUnaryHandler } from "./invoke-unary-handler.js";
import type { LazyAbortController } from "./lazy-abort-controller.js";
import type { UnaryCallSettings } from "./unary-call-settings.js";

/** Deadlines this long or longer share timers, firing at most DEADLINE_SLACK_MS late (≤ 5 %). */
export const COARSE_DEADLINE_MIN_MS = 1_000;
const DEADLINE_SLACK_MS = 50;
const deadlines = new DeadlineWheel(DEADLINE_SLACK_MS);

/**
 * The deadline settles the caller's promise if it comes first; the handler's signal follows the
 * call's, so it learns of the deadline as it would over the network. (No closure is made per call
 * but the promise's: under tsx each named one costs a defineProperty.)
 */
export function callUnaryWithDeadline(
  settings: UnaryCallSettings,
  route: UnaryRoute,
  request: UnaryRequest,
  abort: LazyAbortController,
  timeout: number,
): Promise<UnaryResponse> {
  return new Promise<UnaryResponse>((resolve, reject) => {
    const call = new DeadlineCall(abort, resolve, reject);
    deadlines.schedule(timeout, call);
    invokeUnaryHandler(route, request, abort, {
      timeoutMs: timeout,
      freezeMessages: settings.freezeMessages,
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
