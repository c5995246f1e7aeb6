/**
 * One TCP port for REST, Connect, gRPC and gRPC-Web. Node 20's cleartext HTTP/2 server with
 * allowHTTP1 does not actually serve HTTP/1.1, so each connection's first bytes are inspected:
 * the HTTP/2 client preface goes to an http2 server, anything else to an http server. Both share
 * one request listener (connect-node's adapter, which falls back to the REST app).
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2 from "node:http2";
import net from "node:net";

type Listener = (
  request: IncomingMessage | http2.Http2ServerRequest,
  response: ServerResponse | http2.Http2ServerResponse,
) => void;

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export interface OnePortServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections and resolves once open ones have finished or the grace ends. */
  close(graceMs?: number): Promise<void>;
}

/** Ends an HTTP/1.1 connection now if it is idle, else right after the response in progress. */
function closeWhenIdle(socket: net.Socket): void {
  const response = (socket as net.Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!response) socket.end();
  else if (!response.headersSent) response.setHeader("connection", "close");
  else response.once("finish", () => socket.end());
}

export async function listenOnePort(options: {
  port: number;
  host: string;
  listener: Listener;
}): Promise<OnePortServer> {
  const http1 = http.createServer({ keepAliveTimeout: 65_000 }, options.listener as http.RequestListener);
  const h2 = http2.createServer(
    {},
    options.listener as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  const sockets = new Set<net.Socket>();
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    h2Sessions.add(session);
    session.on("close", () => h2Sessions.delete(session));
  });

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

  const http2Sockets = new WeakSet<net.Socket>();
  const isHttp2Socket = (socket: net.Socket) => http2Sockets.has(socket);

  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(options.port, options.host, () => {
      tcp.off("error", reject);
      resolve();
    });
  });
  const address = tcp.address() as net.AddressInfo;

  return {
    port: address.port,
    close: async (graceMs = 10_000) => {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      // Idle connections go now; busy ones after their current response (HTTP/1.1) or streams (HTTP/2).
      // http.Server only tracks idle keep-alive connections when it listens itself, which ours never
      // does, so each socket's response in progress is looked up here instead (per request
      // bookkeeping would cost every request, for the benefit of the last one).
      for (const socket of sockets) {
        if (!isHttp2Socket(socket)) closeWhenIdle(socket);
      }
      for (const session of h2Sessions) session.close();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
}
