/**
 * What the gateway passes on to a module with each call: the caller's Authorization header, so the
 * module authorizes the real caller, and the request's context (its id, for the module's log
 * lines), as a context value that crosses to the module in process or over the network. The
 * deadline comes from the gateway's transport (RPC_TIMEOUT_MS), unless the call gives its own (a
 * watch: order-events-route.ts).
 */
import type { CallOptions } from "@connectrpc/connect";
import type { Context } from "hono";
import { type RequestContext, requestContextValues } from "../platform/observability/index.js";
import { authorizationHeader, requestContext } from "./node-fast-path.js";

export function callOptions(c: Context): CallOptions {
  return callOptionsFor(authorizationHeader(c), requestContext(c));
}

/** The same, from the header and the context themselves (for code that has no Hono Context). */
export function callOptionsFor(authorization: string | undefined, context: RequestContext): CallOptions {
  const contextValues = requestContextValues(context);
  return authorization === undefined ? { contextValues } : { headers: { authorization }, contextValues };
}
