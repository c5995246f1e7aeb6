/**
 * What an operator sees of each request: its id, attached where it arrives and carried with every
 * module call it causes, and its access-log line (docs/operations.md, "Logs").
 *
 * The gateway, the modules and the composition root use this subsystem only through this file
 * (a dependency-cruiser rule); files inside the platform import each other directly.
 */
export { type CompletedRequest, observeRequests } from "./observed-requests.js";
export { rawHeader } from "./raw-header.js";
export {
  REQUEST_CONTEXT,
  type RequestContext,
  requestContextOf,
  requestContextValues,
  requestIdOf,
} from "./request-context.js";
export { handlerContextValues, sendRequestContext } from "./request-context-propagation.js";
export { RpcMetrics } from "./rpc-metrics.js";
export { traceBatchItem, traceInProcessCalls, traceRpcCalls, traceRpcHandlers } from "./rpc-spans.js";
export { traceIdOf } from "./traceparent.js";
export { activeTracer, startTracing, type Tracing, traceparentOf } from "./tracing.js";
export {
  inRequestsTrace,
  type RequestTrace,
  thisRequestsTrace,
  workForMany,
} from "./work-for-many.js";
