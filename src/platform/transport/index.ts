/**
 * How modules call each other: in process (no serialization, Connect semantics kept), or over
 * the network with a deadline on every call and lost connections reported as unavailable.
 *
 * The gateway, the modules and the composition root use this subsystem only through this file
 * (a dependency-cruiser rule); files inside the platform import each other directly.
 */
export { answerByDeadline } from "./answer-by-deadline.js";
export { type BatchItem, type BatchItemCall, batchItemCall } from "./batch-item-context.js";
export { connectionLossIsUnavailable } from "./connection-loss.js";
export { withDefaultTimeout } from "./default-timeout.js";
export { forwardService } from "./forwarding-service.js";
export { calledInProcess } from "./in-process-call.js";
export { createInProcessTransport } from "./in-process-transport.js";
export { createNetworkTransport } from "./network-transport.js";
