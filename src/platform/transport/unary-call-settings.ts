/**
 * What every unary call of one in-process transport shares. Made once per transport, so that each
 * path of a call (direct-unary-call.ts, deadline-unary-call.ts, guarded-unary-call.ts) takes it as
 * one argument and nothing is allocated for it per call.
 */
import type { Interceptor } from "@connectrpc/connect";
import type { InProcessRouter } from "./in-process-router.js";

export interface UnaryCallSettings {
  /** The services the transport's `routes` registered. */
  readonly router: InProcessRouter;
  /** Client-side interceptors, the first one outermost. */
  readonly interceptors: readonly Interceptor[];
  /** Deep-freeze messages as they cross (see InProcessTransportOptions.freezeMessages). */
  readonly freezeMessages: boolean;
}
