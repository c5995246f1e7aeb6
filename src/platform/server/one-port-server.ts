/**
 * One TCP port for REST, Connect, gRPC and gRPC-Web. Node 20's cleartext HTTP/2 server with
 * allowHTTP1 does not actually serve HTTP/1.1, so each connection's first bytes are inspected:
 * the HTTP/2 client preface goes to an http2 server, anything else to an http server. Both share
 * one request listener (connect-node's adapter, which falls back to the REST app).
 *
 * Closing drains: the port stops accepting at once (a new connection is refused, which a client or
 * load balancer can always retry elsewhere, since nothing was sent), every request already received
 * runs to completion and gets its whole response, and each connection closes once it has nothing
 * in progress. Only when the grace runs out are the connections still busy cut.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2 from "node:http2";
import net from "node:net";

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
  /** Open connections (HTTP/1.1 sockets and HTTP/2 sessions). */
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

type HttpSocket = net.Socket & { _httpMessage?: ServerResponse | null };

/** The HTTP/1.1 response in progress on a socket, if any (set by node:http while it runs). */
function responseInProgress(socket: net.Socket): ServerResponse | undefined {
  return (socket as HttpSocket)._httpMessage ?? undefined;
}

/** Ends an HTTP/1.1 connection now if it is idle, else right after the response in progress. */
function closeWhenIdle(socket: net.Socket): void {
  const response = responseInProgress(socket);
  if (!response) socket.end();
  else if (!response.headersSent) response.setHeader("connection", "close");
  else if (!response.writableFinished) response.once("finish", () => socket.end());
  else socket.end();
}

export async function listenOnePort(options: {
  port: number;
  host: string;
  listener: Listener;
}): Promise<OnePortServer> {
  let draining = false;
  const http1 = http.createServer({ keepAliveTimeout: 65_000 }, (request, response) => {
    // A request that arrives on a kept-alive connection while draining is served, and its
    // response tells the client that this connection ends with it.
    if (draining) response.setHeader("connection", "close");
    options.listener(request, response);
  });
  const h2 = http2.createServer(
    {},
    options.listener as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  const sockets = new Set<net.Socket>();
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    h2Sessions.add(session);
    session.on("close", () => h2Sessions.delete(session));
    // A connection accepted before close() whose first bytes came after it: let its first
    // requests in, then GOAWAY (streams already open finish).
    if (draining) setTimeout(() => session.close(), SETTLE_MS).unref();
  });

  const http2Sockets = new WeakSet<net.Socket>();
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.once("data", (head: Buffer) => {
      // Put the first bytes back and let the chosen server read them as if it had accepted the socket.
      socket.pause();
      socket.unshift(head);
      const prefix = head.subarray(0, Math.min(head.length, HTTP2_PREFACE.length));
      const isHttp2 = prefix.equals(HTTP2_PREFACE.subarray(0, prefix.length));
      if (isHttp2) http2Sockets.add(socket);
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
    // No new connections from here on: the listening socket is closed, so connecting is refused.
    const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
    // HTTP/2: GOAWAY now; streams already open finish, then the session closes.
    for (const session of h2Sessions) session.close();
    // HTTP/1.1: a connection busy with a request closes right after its response (http.Server only
    // tracks idle keep-alive connections when it listens itself, which ours never does, so each
    // socket's response in progress is looked up here rather than bookkept per request). One that
    // looks idle may have a request waiting to be read: it gets a moment, and the event loop a
    // couple of turns, to start it, and is ended then if it is still idle.
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
