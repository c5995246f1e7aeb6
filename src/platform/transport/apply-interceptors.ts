/**
 * Interceptors wrapped around a call, as Connect does it, for both sides of an in-process call
 * (client interceptors in guarded-unary-call.ts, server ones in invoke-unary-handler.ts).
 */
import type { Interceptor } from "@connectrpc/connect";

/** The call shape interceptors wrap; Connect's own type for it is not exported. */
export type AnyFn = Parameters<Interceptor>[0];

/**
 * Wraps `next` in `interceptors`, the first one outermost, as Connect does. Connect's own
 * applyInterceptors is not a public export.
 */
export function applyInterceptors(next: AnyFn, interceptors: readonly Interceptor[]): AnyFn {
  // Connect applies the interceptors anew on every call, so an interceptor may keep per-call state
  // in the closure it returns; doing the same keeps that working.
  let fn = next;
  for (let i = interceptors.length - 1; i >= 0; i--) {
    fn = (interceptors[i] as Interceptor)(fn);
  }
  return fn;
}
