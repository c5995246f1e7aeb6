/**
 * A tiny round-robin reverse proxy in front of replicas: each request goes to the next replica in
 * turn, whatever connection it arrives on, so consecutive requests of a test alternate. It listens
 * like the platform does (the platform's one-port server: HTTP/1.1 and cleartext HTTP/2 on one
 * port) and forwards HTTP/1.1 as HTTP/1.1 and every HTTP/2 stream as an HTTP/2 stream with its
 * trailers, so REST, Connect, gRPC-Web and gRPC all alternate.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import http2 from "node:http2";
import { listenOnePort } from "../../src/platform/server/one-port-server.js";

export interface RoundRobinProxy {
  url: string;
  /** How many requests each target was sent, in the order of the targets. */
  counts(): number[];
  stop(): Promise<void>;
}

/** Headers that describe one connection, not the message, so they are not forwarded. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

function badGateway(response: ServerResponse | http2.Http2ServerResponse, error: Error): void {
  if (response.headersSent) {
    if (response instanceof http2.Http2ServerResponse)
      response.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    else response.destroy(error);
    return;
  }
  response.writeHead(502, { "content-type": "text/plain" });
  response.end(`proxy: ${error.message}`);
}

export async function startRoundRobinProxy(targets: string[]): Promise<RoundRobinProxy> {
  const counts = targets.map(() => 0);
  let turn = 0;
  const agent = new http.Agent({ keepAlive: true });
  const sessions = new Map<string, http2.ClientHttp2Session>();

  function sessionTo(target: string): http2.ClientHttp2Session {
    const open = sessions.get(target);
    if (open !== undefined && !open.closed && !open.destroyed) return open;
    const session = http2.connect(target);
    session.on("error", () => sessions.delete(target));
    session.on("close", () => sessions.delete(target));
    sessions.set(target, session);
    return session;
  }

  function forwardHttp1(target: URL, request: IncomingMessage, response: ServerResponse): void {
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: endToEnd(request.headers),
        agent,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        answer.pipe(response);
      },
    );
    upstream.on("error", (error) => badGateway(response, error));
    response.on("close", () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.pipe(upstream);
  }

  function forwardHttp2(
    target: string,
    request: http2.Http2ServerRequest,
    response: http2.Http2ServerResponse,
  ): void {
    const headers: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(request.headers))
      if (name !== ":authority" && name !== ":scheme") headers[name] = value;
    const upstream = sessionTo(target).request(headers);
    upstream.on("response", (answer, flags) => {
      // A trailers-only answer (gRPC errors) must stay one HEADERS frame that ends the stream.
      if ((flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0) {
        response.stream.respond(answer, { endStream: true });
        return;
      }
      const { ":status": status, ...fields } = answer;
      response.writeHead(Number(status), fields);
      upstream.pipe(response);
    });
    upstream.on("trailers", (trailers) => response.addTrailers(trailers));
    upstream.on("error", (error) => badGateway(response, error));
    response.on("close", () => {
      if (!upstream.closed) upstream.close(http2.constants.NGHTTP2_CANCEL);
    });
    request.pipe(upstream);
  }

  const server = await listenOnePort({
    port: 0,
    host: "127.0.0.1",
    listener: (request, response) => {
      const index = turn++ % targets.length;
      counts[index] = (counts[index] ?? 0) + 1;
      const target = targets[index] as string;
      if (request instanceof http2.Http2ServerRequest)
        forwardHttp2(target, request, response as http2.Http2ServerResponse);
      else forwardHttp1(new URL(target), request, response as ServerResponse);
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    counts: () => [...counts],
    stop: async () => {
      await server.close(1000);
      for (const session of sessions.values()) session.close();
      agent.destroy();
    },
  };
}
