/**
 * The HTTP/1.1 half of the one port: node:http's server, handed every connection whose first bytes
 * are not HTTP/2 (one-port-server.ts). Requests it cannot parse, or whose headers are too large or
 * too slow (http1-request-timeouts.ts), are answered in the API's error format and the connection
 * ends; a body declared larger than the limit is refused without inviting it. docs/security.md,
 * "Connections", has the limits.
 */
import http from "node:http";
import type net from "node:net";
import type { ConnectionLimits } from "./connection-limits.js";
import { declaredBodyLength } from "./early-answer.js";
import { Http1RequestTimeouts } from "./http1-request-timeouts.js";
import { type OpenConnections, responseInProgress } from "./open-connections.js";
import type { RequestListener } from "./request-listener.js";

/**
 * The body of the answer to an HTTP/1.1 request node:http cannot parse (400), whose headers are
 * too large (431) or too slow (408), as `{contentType, body}`; node:http's own is empty.
 */
export type MalformedRequestAnswer = (
  status: number,
  detail: string,
) => { contentType: string; body: string };

export interface Http1ServerOptions {
  limits: ConnectionLimits;
  serve: RequestListener;
  /** Tells the server when requests must close their connection (see OpenConnections.drain). */
  connections: OpenConnections;
  /** The largest request body the listener accepts (see OnePortServerOptions.maxBodyBytes). */
  maxBodyBytes: number | undefined;
  malformedRequestAnswer: MalformedRequestAnswer | undefined;
}

export interface Http1Server {
  server: http.Server;
  /** Its header and request timeouts: a connection is tracked when it is handed to `server`. */
  timeouts: Http1RequestTimeouts;
}

export function createHttp1Server(options: Http1ServerOptions): Http1Server {
  const { limits, serve, connections } = options;
  // The header and request timeouts are ours (see http1-request-timeouts.ts), not node:http's.
  const server = http.createServer({ keepAliveTimeout: limits.idleTimeoutMs }, (request, response) => {
    // A request that arrives on a kept-alive connection while draining is served, and its
    // response tells the client that this connection ends with it.
    if (connections.draining) response.setHeader("connection", "close");
    serve(request, response);
  });
  const timeouts = new Http1RequestTimeouts(limits, (socket, what) => {
    if (what === "headers")
      answerAndClose(socket, 408, "the request headers did not arrive in time", options);
    else socket.destroy();
  });
  // Requests the parser refuses get an answer in the API's error format, then the connection ends.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: net.Socket) => {
    if (error.code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    const { status, detail } = malformedRequestStatus(error);
    answerAndClose(socket, status, detail, options);
  });
  // A body declared larger than the limit is refused without inviting it.
  server.on("checkContinue", (request, response) => {
    const declared = declaredBodyLength(request);
    if (options.maxBodyBytes === undefined || declared <= options.maxBodyBytes) response.writeContinue();
    server.emit("request", request, response);
  });
  return { server, timeouts };
}

/** What node:http's parser errors mean for the client. */
function malformedRequestStatus(error: NodeJS.ErrnoException): { status: number; detail: string } {
  if (error.code === "HPE_HEADER_OVERFLOW")
    return { status: 431, detail: "the request headers are too large" };
  return { status: 400, detail: "the request is not valid HTTP/1.1" };
}

/** Answers `status` in the API's error format, unless a response has begun, and closes. */
function answerAndClose(
  socket: net.Socket,
  status: number,
  detail: string,
  options: Http1ServerOptions,
): void {
  // Only between responses: a kept-alive connection has written earlier ones, which is fine.
  if (!socket.writable || responseInProgress(socket)?.headersSent) {
    socket.destroy();
    return;
  }
  const answer = options.malformedRequestAnswer?.(status, detail) ?? {
    contentType: "text/plain",
    body: detail,
  };
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: ${answer.contentType}\r\n` +
      `content-length: ${Buffer.byteLength(answer.body)}\r\nconnection: close\r\n\r\n${answer.body}`,
  );
  setTimeout(() => socket.destroy(), options.limits.lingerMs).unref();
}
