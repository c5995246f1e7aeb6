/**
 * The cheapest path of an in-process unary call: a call nothing can end early (no deadline, no
 * caller's signal, no interceptor). The handler's outcome is the call's, chained straight onto its
 * promise. How a path is chosen: in-process-transport.ts; what a call costs: BENCHMARKS.md,
 * "In-process transport".
 */
import type { UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import { callFailed } from "./call-failure.js";
import type { UnaryRoute } from "./in-process-router.js";
import { invokeUnaryHandler } from "./invoke-unary-handler.js";
import type { LazyAbortController } from "./lazy-abort-controller.js";
import type { UnaryCallSettings } from "./unary-call-settings.js";

export function callUnaryDirectly(
  settings: UnaryCallSettings,
  route: UnaryRoute,
  request: UnaryRequest,
  abort: LazyAbortController,
): Promise<UnaryResponse> {
  return invokeUnaryHandler(route, request, abort, {
    timeoutMs: undefined,
    freezeMessages: settings.freezeMessages,
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
