/**
 * What a failure tells the caller and what it tells the log: fixed public messages for 5xx,
 * each failure logged once with its cause chain, route or RPC and request id. docs/security.md,
 * "Leaks and logs".
 *
 * The gateway, the modules and the composition root use this subsystem only through this file
 * (a dependency-cruiser rule); files inside the platform import each other directly.
 */
export { publicError, reportFailure, reportHandlerFailure, reportingFailures } from "./public-error.js";
