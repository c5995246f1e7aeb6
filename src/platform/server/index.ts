/**
 * The one port that serves REST, Connect, gRPC and gRPC-Web over HTTP/1.1 and HTTP/2, with the
 * body, connection and deadline limits applied where requests arrive. docs/security.md,
 * "Bodies" and "Connections".
 *
 * The gateway, the modules and the composition root use this subsystem only through this file
 * (a dependency-cruiser rule); files inside the platform import each other directly.
 */
export { connectUnaryFastPath } from "./connect-unary-fast-path.js";
export { allowingOrigins } from "./cross-origin.js";
export { declaredBodyLength } from "./early-answer.js";
export { listenOnePort } from "./one-port-server.js";
export { readBody, TOO_LARGE } from "./read-body.js";
export { capRpcDeadline } from "./rpc-deadline.js";
