/**
 * A call to another process whose connection broke mid-call (reset, hung up: the process died)
 * fails as `unavailable`, like a call that could not connect at all. connect-node reports these as
 * `aborted` (a reset: the REST edge answers 409 Conflict), `internal` (a write to a socket the
 * peer closed, EPIPE: 500) or, over HTTP/2, `canceled` (499), although the caller did nothing
 * wrong and should retry later.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { errorCodes } from "../errors/error-codes.js";

const CONNECTION_LOST = new Set(["ECONNRESET", "EPIPE", "ERR_STREAM_DESTROYED", "ERR_HTTP2_INVALID_STREAM"]);

function lostConnection(reason: unknown): boolean {
  return errorCodes(reason).some((code) => CONNECTION_LOST.has(code));
}

/**
 * Over HTTP/2, a peer whose process dies mid-call resets its streams with CANCEL, which
 * connect-node reports as `canceled` although this side never cancelled.
 */
function peerCancelled(error: ConnectError, signal: AbortSignal): boolean {
  return error.code === Code.Canceled && !signal.aborted;
}

export const connectionLossIsUnavailable: Interceptor = (next) => async (request) => {
  try {
    return await next(request);
  } catch (error) {
    // connect-node reports a reset as `aborted` and a write to a dead socket (EPIPE) as `internal`.
    if (
      error instanceof ConnectError &&
      error.code !== Code.Unavailable &&
      (lostConnection(error.cause) || peerCancelled(error, request.signal))
    )
      throw new ConnectError(
        `${request.service.typeName} is unreachable: ${error.rawMessage}`,
        Code.Unavailable,
        undefined,
        undefined,
        error,
      );
    throw error;
  }
};
