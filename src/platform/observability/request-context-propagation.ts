/**
 * A Connect client interceptor for calls that leave the process: the request context a call
 * carries in its context values is sent as `x-request-id`, where the receiving process's one port
 * picks it up (observed-requests.ts) and hands it to the handler (handlerContextValues).
 */
import type { Interceptor } from "@connectrpc/connect";
import { REQUEST_ID_HEADER } from "../rpc/request-id.js";
import { REQUEST_CONTEXT, requestContextOf, requestContextValues } from "./request-context.js";

export const sendRequestContext: Interceptor = (next) => (request) => {
  const context = request.contextValues.get(REQUEST_CONTEXT);
  if (context !== undefined) request.header.set(REQUEST_ID_HEADER, context.requestId);
  return next(request);
};

/** connect-node's `contextValues` option: a handler's values carry its Node request's context. */
export function handlerContextValues(request: object) {
  return requestContextValues(requestContextOf(request));
}
