/**
 * One TCP port for REST, Connect, gRPC and gRPC-Web (docs/architecture.md, "A request"). Node 20's
 * cleartext HTTP/2 server with allowHTTP1 does not actually serve HTTP/1.1, so each connection's
 * first bytes are inspected: the HTTP/2 client preface goes to an http2 server (http2-server.ts),
 * anything else to an http server (http1-server.ts). Both share one request listener (connect-node's
 * adapter, which falls back to the REST app).
 *
 * Connections are bounded (see ConnectionLimits and docs/security.md, "Connections"), and closing
 * drains them (open-connections.ts; docs/operations.md, "Shutdown"). An answer given before a
 * request's body was read (a body refused for its size) ends with a short linger instead of
 * reading the rest of the body (early-answer.ts).
 */
import type http2 from "node:http2";
import net from "node:net";
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "./connection-limits.js";
import { declaredBodyLength, lingerAfterEarlyAnswer } from "./early-answer.js";
import { createHttp1Server, type Http1Server, type MalformedRequestAnswer } from "./http1-server.js";
import { createHttp2Server } from "./http2-server.js";
import { type CloseResult, OpenConnections, type ServerActivity } from "./open-connections.js";
import type { RequestListener } from "./request-listener.js";

export type { CloseResult, ServerActivity } from "./open-connections.js";

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export interface OnePortServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** What is open right now (for shutdown logs). */
  activity(): ServerActivity;
  /**
   * Stops accepting connections at once, lets every request in progress finish, and resolves once
   * every connection is closed; after `graceMs` (default 10 s) the ones still open are cut.
   * Calling it again returns the same promise.
   */
  close(graceMs?: number): Promise<CloseResult>;
}

export interface OnePortServerOptions {
  port: number;
  host: string;
  listener: RequestListener;
  /** Overrides of the docs/api.md defaults (tests use shorter times). */
  limits?: Partial<ConnectionLimits>;
  /**
   * The largest request body the listener accepts. An HTTP/1.1 request that declares more and
   * asks `Expect: 100-continue` is answered without inviting its body.
   */
  maxBodyBytes?: number;
  /** The body of the answer to a malformed HTTP/1.1 request (see MalformedRequestAnswer). */
  malformedRequestAnswer?: MalformedRequestAnswer;
}

/** Where the one port hands its connections: made once per server. */
interface Destinations {
  readonly connections: OpenConnections;
  readonly limits: ConnectionLimits;
  readonly http1: Http1Server;
  readonly h2: http2.Http2Server;
}

export async function listenOnePort(options: OnePortServerOptions): Promise<OnePortServer> {
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  const connections = new OpenConnections();
  const serve: RequestListener = (request, response) => {
    // A body left unread by an early answer is not read to its end: see lingerAfterEarlyAnswer.
    if (declaredBodyLength(request) !== 0) lingerAfterEarlyAnswer(request, response, limits);
    options.listener(request, response);
  };
  const http1 = createHttp1Server({
    limits,
    serve,
    connections,
    maxBodyBytes: options.maxBodyBytes,
    malformedRequestAnswer: options.malformedRequestAnswer,
  });
  const h2 = createHttp2Server({ limits, serve, connections });
  const destinations: Destinations = { connections, limits, http1, h2 };
  const tcp = net.createServer({ noDelay: true }, (socket) => acceptConnection(socket, destinations));
  await listen(tcp, options.port, options.host);
  const address = tcp.address() as net.AddressInfo;

  let closing: Promise<CloseResult> | undefined;
  return {
    port: address.port,
    activity: () => connections.activity(),
    close: (graceMs = 10_000) => {
      closing ??= connections.drain(tcp, http1.timeouts, graceMs);
      return closing;
    },
  };
}

/**
 * Takes a new connection and, once its first bytes arrive, hands it to the HTTP server they
 * belong to, which reads them as if it had accepted the socket itself.
 */
function acceptConnection(socket: net.Socket, to: Destinations): void {
  const { connections } = to;
  connections.sockets.add(socket);
  connections.awaitingFirstBytes.add(socket);
  // Until its first bytes arrive a connection belongs to neither HTTP server, so their timeouts
  // do not cover one that sends nothing at all.
  const silence = setTimeout(() => socket.destroy(), to.limits.headersTimeoutMs);
  socket.on("close", () => {
    clearTimeout(silence);
    connections.sockets.delete(socket);
    connections.awaitingFirstBytes.delete(socket);
  });
  socket.on("error", () => socket.destroy());
  socket.once("data", (head: Buffer) => {
    clearTimeout(silence);
    connections.awaitingFirstBytes.delete(socket);
    // Put the first bytes back and let the chosen server read them as if it had accepted the socket.
    socket.pause();
    socket.unshift(head);
    const prefix = head.subarray(0, Math.min(head.length, HTTP2_PREFACE.length));
    const isHttp2 = prefix.equals(HTTP2_PREFACE.subarray(0, prefix.length));
    if (isHttp2) connections.http2Sockets.add(socket);
    else to.http1.timeouts.track(socket);
    (isHttp2 ? to.h2 : to.http1.server).emit("connection", socket);
    process.nextTick(() => socket.resume());
  });
}

function listen(tcp: net.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, host, () => {
      tcp.off("error", reject);
      resolve();
    });
  });
}
