/**
 * What the one-port server has open, by kind, and how closing drains it (docs/operations.md,
 * "Shutdown"): the port stops accepting at once (a new connection is refused, which a client or
 * load balancer can always retry elsewhere, since nothing was sent), every request already received
 * runs to completion and gets its whole response, and each connection closes once it has nothing
 * in progress; connections with no request in progress are closed at once. Only when the grace
 * runs out are the connections still busy cut.
 */
import type { ServerResponse } from "node:http";
import type http2 from "node:http2";
import type net from "node:net";
import type { Http1RequestTimeouts } from "./http1-request-timeouts.js";

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

/**
 * How long closing waits before ending connections that look idle. A request whose bytes reached
 * the machine before close() may not have been read yet (the event loop handles the signal and
 * the sockets' data in the same turn, in any order); this lets it be read, and then served.
 */
export const SETTLE_MS = 100;

export class OpenConnections {
  /** Set by drain(): what arrives from now on is told that its connection ends. */
  draining = false;
  /** Every accepted connection, until it closes. */
  readonly sockets = new Set<net.Socket>();
  /** Connections that have sent nothing yet, and so belong to neither HTTP server. */
  readonly awaitingFirstBytes = new Set<net.Socket>();
  /** Connections handed to the HTTP/2 server: their sessions are counted instead. */
  readonly http2Sockets = new WeakSet<net.Socket>();
  readonly h2Sessions = new Set<http2.ServerHttp2Session>();

  activity(): ServerActivity {
    let connections = this.h2Sessions.size;
    let busy = this.h2Sessions.size;
    for (const socket of this.sockets) {
      if (this.http2Sockets.has(socket)) continue;
      connections++;
      if (responseInProgress(socket)) busy++;
    }
    return { connections, busy };
  }

  /** Stops `listening` and the HTTP/1.1 `timeouts`, and resolves once every connection is closed. */
  async drain(listening: net.Server, timeouts: Http1RequestTimeouts, graceMs: number): Promise<CloseResult> {
    this.draining = true;
    timeouts.stop();
    // No new connections from here on: the listening socket is closed, so connecting is refused.
    const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
    // A connection that has sent nothing has no request to serve.
    for (const socket of this.awaitingFirstBytes) socket.destroy();
    // HTTP/2: GOAWAY now; streams already open finish, then the session closes.
    for (const session of this.h2Sessions) session.close();
    // HTTP/1.1: a connection busy with a request closes right after its response (http.Server only
    // tracks idle keep-alive connections when it listens itself, which ours never does, so each
    // socket's response in progress is looked up here rather than bookkept per request). One that
    // looks idle may have a request waiting to be read: it gets a moment, and the event loop a
    // couple of turns, to start it, and is closed then if it is still idle.
    for (const socket of this.sockets) {
      if (!this.http2Sockets.has(socket) && responseInProgress(socket)) closeWhenIdle(socket);
    }
    const settle = setTimeout(
      () =>
        setImmediate(() =>
          setImmediate(() => {
            for (const socket of this.sockets) if (!this.http2Sockets.has(socket)) closeWhenIdle(socket);
          }),
        ),
      SETTLE_MS,
    );
    let abandoned = 0;
    const timer = setTimeout(() => {
      abandoned = this.activity().busy;
      for (const session of this.h2Sessions) session.destroy();
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(settle);
    clearTimeout(timer);
    return { abandoned };
  }
}

type HttpSocket = net.Socket & { _httpMessage?: ServerResponse | null };

/** The HTTP/1.1 response in progress on a socket, if any (set by node:http while it runs). */
export function responseInProgress(socket: net.Socket): ServerResponse | undefined {
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
