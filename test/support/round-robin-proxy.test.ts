/**
 * The replicas set-up rests on this proxy: consecutive requests must alternate between the
 * targets, over HTTP/1.1 and HTTP/2 alike, and an HTTP/2 answer must arrive whole, with its
 * trailers, or as one trailers-only HEADERS frame (how gRPC reports most errors).
 */
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenOnePort, type OnePortServer } from "../../src/platform/server/one-port-server.js";
import { type RoundRobinProxy, startRoundRobinProxy } from "./round-robin-proxy.js";

/** A target that answers its name; on HTTP/2, `/trailers` adds a trailer and `/trailers-only` is one. */
async function target(name: string): Promise<OnePortServer> {
  return listenOnePort({
    port: 0,
    host: "127.0.0.1",
    listener: (request, response) => {
      if (response instanceof http2.Http2ServerResponse && request.url === "/trailers-only") {
        response.stream.respond(
          { ":status": 200, "grpc-status": "5", "x-target": name },
          { endStream: true },
        );
        return;
      }
      response.setHeader("x-target", name);
      if (response instanceof http2.Http2ServerResponse && request.url === "/trailers")
        response.addTrailers({ "grpc-status": "0" });
      request.resume();
      request.on("end", () => response.end(`${request.method} ${request.url} from ${name}`));
    },
  });
}

function http2Request(
  session: http2.ClientHttp2Session,
  path: string,
): Promise<{ headers: http2.IncomingHttpHeaders; body: string; trailers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":path": path });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    let body = "";
    stream.on("response", (received) => {
      headers = received;
    });
    stream.on("trailers", (received) => {
      trailers = received;
    });
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      body += chunk;
    });
    stream.on("end", () => resolve({ headers, body, trailers }));
    stream.on("error", reject);
    stream.end();
  });
}

describe("round-robin proxy", () => {
  let targets: OnePortServer[];
  let proxy: RoundRobinProxy;

  beforeAll(async () => {
    targets = await Promise.all([target("a"), target("b")]);
    proxy = await startRoundRobinProxy(targets.map((server) => `http://127.0.0.1:${server.port}`));
  });
  afterAll(async () => {
    await proxy?.stop();
    await Promise.all((targets ?? []).map((server) => server.close(0)));
  });

  it("alternates HTTP/1.1 requests, bodies and all, on one keep-alive connection", async () => {
    const answers: string[] = [];
    for (let index = 0; index < 4; index++) {
      const response = await fetch(`${proxy.url}/echo?n=${index}`, {
        method: "POST",
        body: "x".repeat(100_000),
      });
      expect(response.status).toBe(200);
      answers.push(await response.text());
    }
    const from = answers.map((answer) => answer.slice(-1));
    expect(new Set([from[0], from[1]])).toEqual(new Set(["a", "b"]));
    expect(from[2]).toBe(from[0]);
    expect(from[3]).toBe(from[1]);
    expect(answers[0]).toMatch(/^POST \/echo\?n=0 from /);
  });

  it("alternates the streams of one HTTP/2 connection and passes trailers through", async () => {
    const session = http2.connect(proxy.url);
    try {
      const first = await http2Request(session, "/trailers");
      const second = await http2Request(session, "/trailers");
      expect([first.headers["x-target"], second.headers["x-target"]].sort()).toEqual(["a", "b"]);
      expect(first.trailers["grpc-status"]).toBe("0");
      expect(first.body).toMatch(/^GET \/trailers from /);

      const trailersOnly = await http2Request(session, "/trailers-only");
      expect(trailersOnly.headers["grpc-status"]).toBe("5");
      expect(trailersOnly.headers["x-target"]).toBe(first.headers["x-target"]);
      expect(trailersOnly.body).toBe("");
    } finally {
      session.close();
    }
    const [a, b] = proxy.counts();
    expect(Math.abs((a ?? 0) - (b ?? 0))).toBeLessThanOrEqual(1);
  });
});
