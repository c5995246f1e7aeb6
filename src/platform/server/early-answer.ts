/**
 * A request answered before its body was read (a body refused for its size, a route that does not
 * exist): node:http would read and discard the rest of the body to keep the connection alive,
 * however large the body says it is. Here the rest is discarded only up to a small budget and
 * for a short time (a "lingering close", so the client reads the answer rather than a reset), and
 * then the connection is closed. On HTTP/2 the stream is reset with NO_ERROR after the answer,
 * which tells the client to stop sending (RFC 9113, section 8.1).
 */
import type { ServerResponse } from "node:http";
import http2 from "node:http2";
import type { ConnectionLimits } from "./connection-limits.js";
import type { AnyRequest, AnyResponse } from "./request-listener.js";

/**
 * The body length the request declares: 0 for none, its Content-Length, or Infinity when it is
 * sent without one (chunked, or an HTTP/2 stream left open). Reads Node's raw header list: asking
 * for `request.headers` builds the parsed object, a cost on every request.
 */
export function declaredBodyLength(request: AnyRequest): number {
  if (request instanceof http2.Http2ServerRequest) {
    if (request.stream.endAfterHeaders) return 0;
    const length = request.headers["content-length"];
    return length === undefined ? Number.POSITIVE_INFINITY : parseLength(length);
  }
  const raw = request.rawHeaders;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index] as string;
    if (name.length === 14 && name.toLowerCase() === "content-length")
      return parseLength(raw[index + 1] as string);
    if (name.length === 17 && name.toLowerCase() === "transfer-encoding") return Number.POSITIVE_INFINITY;
  }
  return 0;
}

function parseLength(value: string): number {
  return /^\d+$/.test(value) ? Number(value) : Number.POSITIVE_INFINITY;
}

/** Arranges for the connection to end soon if `response` finishes while the body is still unread. */
export function lingerAfterEarlyAnswer(
  request: AnyRequest,
  response: AnyResponse,
  limits: Pick<ConnectionLimits, "lingerBytes" | "lingerMs">,
): void {
  // Taken now: a request whose reader stopped early (a streaming RPC's body read in part, then
  // destroyed) has lost its socket by the time its answer finishes.
  const socket = request.socket;
  (response as ServerResponse).once("finish", () => {
    if (request.complete) return;
    if (request instanceof http2.Http2ServerRequest) {
      if (!request.stream.destroyed) request.stream.close(http2.constants.NGHTTP2_NO_ERROR);
      return;
    }
    const little = declaredBodyLength(request) <= limits.lingerBytes;
    // A little is left of a destroyed request: node:http reads and drops it, and the connection
    // stays usable (it never ends, so there is nothing to wait for).
    if (little && request.destroyed) return;
    const timer = setTimeout(() => socket.destroy(), limits.lingerMs);
    const stopTimer = () => clearTimeout(timer);
    socket.once("close", stopTimer);
    if (little) {
      // A little is left: it is read and dropped, and the connection stays usable. node:http
      // does that itself unless the request's reader started and then stopped reading (a
      // streaming RPC refused at its second envelope), whose abandoned listener would keep the
      // rest unread, the end never come, and the connection be cut under its next request.
      request.once("end", () => {
        stopTimer();
        socket.off("close", stopTimer);
      });
      request.on("readable", () => {
        while (request.read() !== null) {}
      });
      return;
    }
    // Too much to read: stop reading, tell the client the connection ends here (it reads the
    // answer, then the end of the stream, and stops sending), and close it after a moment. Closing
    // at once would reset the connection while the answer may still be unread on the client side.
    request.pause();
    socket.pause();
    socket.end();
  });
}
