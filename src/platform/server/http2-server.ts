/**
 * The HTTP/2 half of the one port: node:http2's cleartext server, handed every connection that
 * opens with the HTTP/2 preface (one-port-server.ts). It allows a bounded number of concurrent
 * streams and closes a session that stays without streams too long (docs/security.md,
 * "Connections"); its sessions are tracked so that closing can drain them (open-connections.ts).
 */
import http2 from "node:http2";
import type { ConnectionLimits } from "./connection-limits.js";
import { type OpenConnections, SETTLE_MS } from "./open-connections.js";
import type { RequestListener } from "./request-listener.js";

export interface Http2ServerOptions {
  limits: ConnectionLimits;
  serve: RequestListener;
  /** Where its sessions are tracked, and whether the server is draining. */
  connections: OpenConnections;
}

export function createHttp2Server(options: Http2ServerOptions): http2.Http2Server {
  const { limits, connections } = options;
  const h2 = http2.createServer(
    { settings: { maxConcurrentStreams: limits.maxConcurrentStreams } },
    options.serve as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  h2.on("session", (session) => {
    connections.h2Sessions.add(session);
    session.on("close", () => connections.h2Sessions.delete(session));
    closeWhenStreamless(session, limits);
    // A connection accepted before close() whose first bytes came after it: let its first
    // requests in, then GOAWAY (streams already open finish).
    if (connections.draining) setTimeout(() => session.close(), SETTLE_MS).unref();
  });
  return h2;
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
