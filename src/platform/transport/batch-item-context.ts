/**
 * The HandlerContext of one item of a call that carries many callers' calls at once (an internal
 * batch method), so that the method each item stands for runs exactly as if called alone: with the
 * item's own request headers (its caller's Authorization), context values (its request's id) and
 * deadline. The item's deadline never outlasts the batch call's, and the item's signal aborts
 * when the batch call's does (its caller went away, the server stops).
 */
import type { DescMethodUnary } from "@bufbuild/protobuf";
import type { ContextValues, HandlerContext } from "@connectrpc/connect";
import { CallDeadline } from "./call-deadline.js";
import { LazyAbortController } from "./lazy-abort-controller.js";
import { FieldsHandlerContext, timeLeftUntil } from "./lazy-handler-context.js";

export interface BatchItem {
  /** The method the item is a call of (e.g. CreateOrder for an item of CreateOrders). */
  method: DescMethodUnary;
  /** The headers the item's call would have carried; must be valid header values. */
  requestHeader: Headers;
  values: ContextValues;
  /** How long the item's caller waits, from now; 0 or undefined means as long as the batch call. */
  timeoutMs: number | undefined;
}

export interface BatchItemCall {
  readonly context: HandlerContext;
  /** The item is answered: its deadline no longer fires, and its signal aborts (as a call's does). */
  end(): void;
}

export function batchItemCall(batch: HandlerContext, item: BatchItem): BatchItemCall {
  const abort = new LazyAbortController();
  const unfollow = abort.follow(batch.signal);
  const batchLeft = batch.timeoutMs();
  const own = item.timeoutMs !== undefined && item.timeoutMs > 0 ? item.timeoutMs : undefined;
  const timeoutMs = own !== undefined && (batchLeft === undefined || own < batchLeft) ? own : batchLeft;
  const deadline = timeoutMs === undefined ? undefined : new CallDeadline(abort, Math.max(0, timeoutMs));
  const context = new FieldsHandlerContext(
    {
      method: item.method,
      service: item.method.parent,
      timeoutMs: timeLeftUntil(timeoutMs === undefined ? undefined : Date.now() + timeoutMs),
      requestMethod: batch.requestMethod,
      requestHeader: item.requestHeader,
      protocolName: batch.protocolName,
      values: item.values,
      // The batch call's: the item's method is in `method`.
      url: batch.url,
    },
    abort,
  );
  return {
    context,
    end: () => {
      deadline?.cancel();
      unfollow();
      abort.abort();
    },
  };
}
