/**
 * One TCP port for REST, Connect, gRPC and gRPC-Web. Node 20's cleartext HTTP/2 server with
 * allowHTTP1 does not actually serve HTTP/1.1, so each connection's first bytes are inspected:
 * the HTTP/2 client preface goes to an http2 server, anything else to an http server. Both share
 * one request listener (connect-node's adapter, which falls back to the REST app).
 *
 * Connections are bounded (see ConnectionLimits and docs/security.md): a connection that sends
 * nothing, or not its whole request headers, in time is closed; so is an idle keep-alive
 * connection or an HTTP/2 connection without streams; HTTP/2 allows a bounded number of concurrent
 * streams. An answer given before a request's body was read (a body refused for its size) ends
 * with a short linger instead of reading the rest of the body.
 *
 * Closing drains: the port stops accepting at once (a new connection is refused, which a client or
 * load balancer can always retry elsewhere, since nothing was sent), every request already received
 * runs to completion and gets its whole response, and each connection closes once it has nothing
 * in progress; connections with no request in progress are closed at once. Only when the grace
 * runs out are the connections still busy cut.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "./connection-limits.js";
import { declaredBodyLength, lingerAfterEarlyAnswer } from "./early-answer.js";
import { Http1RequestTimeouts } from "./http1-request-timeouts.js";

type Listener = (
  request: IncomingMessage | http2.Http2ServerRequest,
  response: ServerResponse | http2.Http2ServerResponse,
) => void;

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * How long closing waits before ending connections that look idle. A request whose bytes reached
 * the machine before close() may not have been read yet (the event loop handles the signal and
 * the sockets' data in the same turn, in any order); this lets it be read, and then served.
 */
const SETTLE_MS = 100;

export interface ServerActivity {
  /** Open connections (HTTP/1.1 sockets, HTTP/2 sessions, and sockets that have sent nothing yet). */
  connections: number;
  /** Of those, the ones in the middle of a request (HTTP/1.1) or with an open session (HTTP/2). */
  busy: number;
}

export interface CloseResult {
  /** Connections still busy when the grace ran out, and therefore cut. 0 after a clean drain. */
  abandoned: number;
}

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
  listener: Listener;
  /** Overrides of the docs/api.md defaults (tests use shorter times). */
  limits?: Partial<ConnectionLimits>;
  /**
   * The largest request body the listener accepts. An HTTP/1.1 request that declares more and
   * asks `Expect: 100-continue` is answered without inviting its body.
   */
  maxBodyBytes?: number;
  /**
   * The body of the answer to an HTTP/1.1 request node:http cannot parse (400), whose headers are
   * too large (431) or too slow (408), as `{contentType, body}`; node:http's own is empty.
   */
  malformedRequestAnswer?: (status: number, detail: string) => { contentType: string; body: string };
}

/** What node:http's parser errors mean for the client. */
function malformedRequestStatus(error: NodeJS.ErrnoException): { status: number; detail: string } {
  if (error.code === "HPE_HEADER_OVERFLOW")
    return { status: 431, detail: "the request headers are too large" };
  return { status: 400, detail: "the request is not valid HTTP/1.1" };
}

type HttpSocket = net.Socket & { _httpMessage?: ServerResponse | null };

/** The HTTP/1.1 response in progress on a socket, if any (set by node:http while it runs). */
function responseInProgress(socket: net.Socket): ServerResponse | undefined {
  return (socket as HttpSocket)._httpMessage ?? undefined;
}

/** Ends an HTTP/1.1 connection now if it is idle, else right after the response in progress. */
function closeWhenIdle(socket: net.Socket): void {
  const response = responseInProgress(socket);
  if (!response) socket.destroy();
  else if (!response.headersSent) response.setHeader("connection", "close");
  else if (!response.writableFinished) response.once("finish", () => socket.end());
  else socket.end();
}

export async function listenOnePort(options: OnePortServerOptions): Promise<OnePortServer> {
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  let draining = false;
  const serve: Listener = (request, response) => {
    // A body left unread by an early answer is not read to its end: see lingerAfterEarlyAnswer.
    if (declaredBodyLength(request) !== 0) lingerAfterEarlyAnswer(request, response, limits);
    options.listener(request, response);
  };
  // The header and request timeouts are ours (see http1-request-timeouts.ts), not node:http's.
  const http1 = http.createServer({ keepAliveTimeout: limits.idleTimeoutMs }, (request, response) => {
    // A request that arrives on a kept-alive connection while draining is served, and its
    // response tells the client that this connection ends with it.
    if (draining) response.setHeader("connection", "close");
    serve(request, response);
  });
  /** Answers `status` in the API's error format, unless a response has begun, and closes. */
  const answerAndClose = (socket: net.Socket, status: number, detail: string) => {
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
    setTimeout(() => socket.destroy(), limits.lingerMs).unref();
  };
  const timeouts = new Http1RequestTimeouts(limits, (socket, what) => {
    if (what === "headers") answerAndClose(socket, 408, "the request headers did not arrive in time");
    else socket.destroy();
  });
  // Requests the parser refuses get an answer in the API's error format, then the connection ends.
  http1.on("clientError", (error: NodeJS.ErrnoException, socket: net.Socket) => {
    if (error.code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    const { status, detail } = malformedRequestStatus(error);
    answerAndClose(socket, status, detail);
  });
  // A body declared larger than the limit is refused without inviting it.
  http1.on("checkContinue", (request, response) => {
    const declared = declaredBodyLength(request);
    if (options.maxBodyBytes === undefined || declared <= options.maxBodyBytes) response.writeContinue();
    http1.emit("request", request, response);
  });

  const h2 = http2.createServer(
    { settings: { maxConcurrentStreams: limits.maxConcurrentStreams } },
    serve as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  const sockets = new Set<net.Socket>();
  const awaitingFirstBytes = new Set<net.Socket>();
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    h2Sessions.add(session);
    session.on("close", () => h2Sessions.delete(session));
    closeWhenStreamless(session, limits);
    // A connection accepted before close() whose first bytes came after it: let its first
    // requests in, then GOAWAY (streams already open finish).
    if (draining) setTimeout(() => session.close(), SETTLE_MS).unref();
  });

  const http2Sockets = new WeakSet<net.Socket>();
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    awaitingFirstBytes.add(socket);
    // Until its first bytes arrive a connection belongs to neither HTTP server, so their timeouts
    // do not cover one that sends nothing at all.
    const silence = setTimeout(() => socket.destroy(), limits.headersTimeoutMs);
    socket.on("close", () => {
      clearTimeout(silence);
      sockets.delete(socket);
      awaitingFirstBytes.delete(socket);
    });
    socket.on("error", () => socket.destroy());
    socket.once("data", (head: Buffer) => {
      clearTimeout(silence);
      awaitingFirstBytes.delete(socket);
      // Put the first bytes back and let the chosen server read them as if it had accepted the socket.
      socket.pause();
      socket.unshift(head);
      const prefix = head.subarray(0, Math.min(head.length, HTTP2_PREFACE.length));
      const isHttp2 = prefix.equals(HTTP2_PREFACE.subarray(0, prefix.length));
      if (isHttp2) http2Sockets.add(socket);
      else timeouts.track(socket);
      (isHttp2 ? h2 : http1).emit("connection", socket);
      process.nextTick(() => socket.resume());
    });
  });

  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(options.port, options.host, () => {
      tcp.off("error", reject);
      resolve();
    });
  });
  const address = tcp.address() as net.AddressInfo;

  const activity = (): ServerActivity => {
    let connections = h2Sessions.size;
    let busy = h2Sessions.size;
    for (const socket of sockets) {
      if (http2Sockets.has(socket)) continue;
      connections++;
      if (responseInProgress(socket)) busy++;
    }
    return { connections, busy };
  };

  let closing: Promise<CloseResult> | undefined;
  const drain = async (graceMs: number): Promise<CloseResult> => {
    draining = true;
    timeouts.stop();
    // No new connections from here on: the listening socket is closed, so connecting is refused.
    const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
    // A connection that has sent nothing has no request to serve.
    for (const socket of awaitingFirstBytes) socket.destroy();
    // HTTP/2: GOAWAY now; streams already open finish, then the session closes.
    for (const session of h2Sessions) session.close();
    // HTTP/1.1: a connection busy with a request closes right after its response (http.Server only
    // tracks idle keep-alive connections when it listens itself, which ours never does, so each
    // socket's response in progress is looked up here rather than bookkept per request). One that
    // looks idle may have a request waiting to be read: it gets a moment, and the event loop a
    // couple of turns, to start it, and is closed then if it is still idle.
    for (const socket of sockets) {
      if (!http2Sockets.has(socket) && responseInProgress(socket)) closeWhenIdle(socket);
    }
    const settle = setTimeout(
      () =>
        setImmediate(() =>
          setImmediate(() => {
            for (const socket of sockets) if (!http2Sockets.has(socket)) closeWhenIdle(socket);
          }),
        ),
      SETTLE_MS,
    );
    let abandoned = 0;
    const timer = setTimeout(() => {
      abandoned = activity().busy;
      for (const session of h2Sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(settle);
    clearTimeout(timer);
    return { abandoned };
  };

  return {
    port: address.port,
    activity,
    close: (graceMs = 10_000) => {
      closing ??= drain(graceMs);
      return closing;
    },
  };
}

/**
 * Closes an HTTP/2 session that has no open stream for too long: `headersTimeoutMs` before its
 * first stream, `idleTimeoutMs` between streams. GOAWAY first; a session that does not close on
 * its own within the linger time is destroyed.
 */
function closeWhenStreamless(session: http2.ServerHttp2Session, limits: ConnectionLimits): void {
  let open = 0;
  const expire = () => {
    session.close();
    setTimeout(() => session.destroy(), limits.lingerMs).unref();
  };
  let timer: NodeJS.Timeout | undefined = setTimeout(expire, limits.headersTimeoutMs);
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    clearTimeout(timer);
    timer = undefined;
    stream.once("close", () => {
      open--;
      if (open === 0 && !session.closed && !session.destroyed)
        timer = setTimeout(expire, limits.idleTimeoutMs);
    });
  });
  session.once("close", () => clearTimeout(timer));
}
