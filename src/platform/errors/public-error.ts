/**
 * What a caller may learn of a failure, and the one log line each failure of the server gets.
 *
 * A caller's mistake (a 4xx code) passes through unchanged. A failure of the server (5xx: internal,
 * unknown, data loss, unavailable, deadline exceeded) reaches the caller as its code and a fixed
 * message, never the underlying error's text (hosts, ports, SQL, stack traces); its cause is
 * logged once, where it happened, with the RPC or route and the request id. Database errors
 * become what they mean for the caller: a statement stopped by its timeout is
 * `deadline_exceeded`, an unreachable database `unavailable`, anything else `internal`.
 */
import { Code, ConnectError, type ContextValues, type Interceptor } from "@connectrpc/connect";
import { isDatabaseTimeout, isTransientDatabaseError } from "../db/database-errors.js";
import type { Logger } from "../logger.js";
import { requestIdOf } from "../observability/request-context.js";
import { onCallEnd } from "../observability/stream-end.js";
import { REQUEST_ID_HEADER } from "../rpc/request-id.js";

const SERVER_CODES = new Set([
  Code.Internal,
  Code.Unknown,
  Code.DataLoss,
  Code.Unavailable,
  Code.DeadlineExceeded,
]);

const PUBLIC_MESSAGE: Partial<Record<Code, string>> = {
  [Code.Internal]: "internal error",
  [Code.Unknown]: "internal error",
  [Code.DataLoss]: "internal error",
  [Code.Unavailable]: "a service this request needs is unavailable; retry later",
  [Code.DeadlineExceeded]: "the request did not finish in time",
};

/** Failures already logged with their cause; a copy made by the in-process transport is marked too. */
const logged = new WeakSet<object>();

export function markLogged(error: ConnectError): void {
  logged.add(error);
}

export function isLogged(error: unknown): boolean {
  return error instanceof Object && logged.has(error);
}

/** True for the codes that say the server failed rather than the caller. */
export function isServerFailure(code: Code): boolean {
  return SERVER_CODES.has(code);
}

/** Longest message a caller gets: a message echoing a huge input would not fit gRPC trailers. */
const MESSAGE_MAX = 1_000;

/** The error a caller gets for `thrown`: a ConnectError whose 5xx message says nothing internal. */
export function publicError(thrown: unknown): ConnectError {
  if (thrown instanceof ConnectError) {
    if (!SERVER_CODES.has(thrown.code)) {
      if (thrown.rawMessage.length <= MESSAGE_MAX) return thrown;
      const cut = new ConnectError(
        `${thrown.rawMessage.slice(0, MESSAGE_MAX)}…`,
        thrown.code,
        thrown.metadata,
      );
      cut.details.push(...thrown.details);
      return cut;
    }
    const message = PUBLIC_MESSAGE[thrown.code] as string;
    if (thrown.rawMessage === message && thrown.cause === undefined) return thrown;
    const code = thrown.code === Code.Unknown || thrown.code === Code.DataLoss ? Code.Internal : thrown.code;
    return new ConnectError(message, code, undefined, undefined, thrown);
  }
  const code = isDatabaseTimeout(thrown)
    ? Code.DeadlineExceeded
    : isTransientDatabaseError(thrown)
      ? Code.Unavailable
      : Code.Internal;
  return new ConnectError(PUBLIC_MESSAGE[code] as string, code, undefined, undefined, thrown);
}

export interface FailureContext {
  /** `/<package>.<Service>/<Method>` for an RPC, `<METHOD> <route template>` for REST. */
  operation: string;
  requestId: string;
}

/**
 * Turns what a handler threw into what its caller gets, logging a server failure once with its
 * cause chain (the original error). Returns the public error.
 */
export function reportFailure(logger: Logger, thrown: unknown, context: FailureContext): ConnectError {
  const error = publicError(thrown);
  if (!isServerFailure(error.code) || isLogged(thrown) || isLogged(error)) return error;
  const level = error.code === Code.Internal ? "error" : "warn";
  logger[level](
    { err: thrown, code: Code[error.code], operation: context.operation, requestId: context.requestId },
    `request failed: ${PUBLIC_MESSAGE[error.code]}`,
  );
  markLogged(error);
  return error;
}

/**
 * What a module's method threw, as its caller gets it: reported (see reportFailure) under the
 * request's id, which a server failure also carries back in its `x-request-id` metadata. Applied
 * where handler errors are caught anyway, so a call that succeeds pays nothing for it: by the
 * in-process transport, and by the interceptor below over the network.
 */
export function reportHandlerFailure(
  logger: Logger,
  thrown: unknown,
  call: {
    service: { typeName: string };
    method: { name: string };
    requestHeader: Headers;
    values: ContextValues;
  },
): ConnectError {
  const requestId = requestIdOf(call);
  const operation = `/${call.service.typeName}/${call.method.name}`;
  const error = reportFailure(logger, thrown, { operation, requestId });
  if (isServerFailure(error.code)) error.metadata.set(REQUEST_ID_HEADER, requestId);
  return error;
}

/**
 * reportHandlerFailure for the methods connect-node serves (Connect, gRPC, gRPC-Web); a server
 * stream's failure comes while its messages are sent, after `next` has resolved.
 */
export function reportingFailures(logger: Logger): Interceptor {
  return (next) => async (request) => {
    const report = (thrown: unknown) =>
      reportHandlerFailure(logger, thrown, {
        service: request.service,
        method: request.method,
        requestHeader: request.header,
        values: request.contextValues,
      });
    return onCallEnd(next(request), (error) => (error === undefined ? undefined : report(error)));
  };
}
