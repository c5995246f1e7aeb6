/**
 * What the platform knows about each request it serves: its id and, when it has one, its trace.
 * Attached to the Node request object where the request arrives (observed-requests.ts), and from
 * there carried with every module call the request causes, in the call's Connect context values
 * under REQUEST_CONTEXT: the in-process transport hands that one value across, and over the
 * network it travels as `x-request-id` (request-context-propagation.ts). A module reads it with
 * `requestIdOf` for its log lines (docs/operations.md, "Logs").
 *
 * Deliberately not an AsyncLocalStorage: on Node 20 an active one costs every promise a hook, and
 * that measured +2.9 µs of CPU per cached product read, about 10 %; a header instead of a context
 * value on in-process calls cost +2 µs (BENCHMARKS.md, "Request logs").
 */
import { type ContextValues, createContextKey, createContextValues } from "@connectrpc/connect";
import { REQUEST_ID_HEADER, requestIdFrom } from "../rpc/request-id.js";

export interface RequestContext {
  /** The caller's `x-request-id` when sane, else a new one; answered in the response's header. */
  readonly requestId: string;
  /** The W3C trace id (32 hex digits) of the request's trace, when it has one. */
  traceId: string | undefined;
}

/** The request a module call serves, in the call's context values (client and handler side). */
export const REQUEST_CONTEXT = createContextKey<RequestContext | undefined>(undefined, {
  description: "the request a call serves",
});

const contexts = new WeakMap<object, RequestContext>();

/** The context the one port attached to `request` (a Node request object), if any. */
export function requestContextOf(request: object): RequestContext | undefined {
  return contexts.get(request);
}

export function attachRequestContext(request: object, context: RequestContext): void {
  contexts.set(request, context);
}

/** Context values that carry `context` (for a call's options, or a handler's context). */
export function requestContextValues(context: RequestContext | undefined): ContextValues {
  const values = createContextValues();
  return context === undefined ? values : values.set(REQUEST_CONTEXT, context);
}

/**
 * The id of the request a handler's call serves: carried in its context values, else the
 * caller's `x-request-id`, else (a call no request caused, from a background job) a new one.
 */
export function requestIdOf(call: { values: ContextValues; requestHeader: Headers }): string {
  return (
    call.values.get(REQUEST_CONTEXT)?.requestId ?? requestIdFrom(call.requestHeader.get(REQUEST_ID_HEADER))
  );
}
