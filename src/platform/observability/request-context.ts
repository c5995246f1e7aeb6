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
 * value on in-process calls cost +2 µs (BENCHMARKS.md, "Request logs, metrics and tracing").
 */
import { type ContextKey, type ContextValues, createContextKey } from "@connectrpc/connect";
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

/**
 * Where the context sits on the Node request object: a property under a symbol of our own rather
 * than a WeakMap entry, which the garbage collector has to treat as an ephemeron (one per request).
 */
const CONTEXT = Symbol("request context");

/** The context the one port attached to `request` (a Node request object), if any. */
export function requestContextOf(request: object): RequestContext | undefined {
  return (request as { [CONTEXT]?: RequestContext })[CONTEXT];
}

export function attachRequestContext(request: object, context: RequestContext): void {
  (request as { [CONTEXT]?: RequestContext })[CONTEXT] = context;
}

/**
 * Connect's ContextValues with its methods on a prototype: `createContextValues()` builds its three
 * methods anew for every object, and every module call makes two of these (the caller's, the
 * handler's). Values are kept the same way, as properties under each key's symbol.
 */
class CallContextValues implements ContextValues {
  [id: symbol]: unknown;

  get<T>(key: ContextKey<T>): T {
    return key.id in this ? (this[key.id] as T) : key.defaultValue;
  }

  set<T>(key: ContextKey<T>, value: T): this {
    this[key.id] = value;
    return this;
  }

  delete(key: ContextKey<unknown>): this {
    delete this[key.id];
    return this;
  }
}

/** Context values that carry `context` (for a call's options, or a handler's context). */
export function requestContextValues(context: RequestContext | undefined): ContextValues {
  const values = new CallContextValues();
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
