import { createServer, request as httpRequest, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { capturedLog } from "../../../test/support/captured-log.js";
import type { Logger } from "../logger.js";
import type { RequestListener } from "../server/request-listener.js";
import { type CompletedRequest, observeRequests } from "./observed-requests.js";
import { type RequestContext, requestContextOf } from "./request-context.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("observeRequests: request ids, the request context and the access log", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function serve(listener: RequestListener, logger: Logger, completed: CompletedRequest[] = []) {
    server = createServer(
      observeRequests(listener, {
        logger,
        routeOf: (method, url) => `${method} ${url.split("?")[0]}`,
        onCompleted: (request) => completed.push(request),
      }),
    );
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const ok: RequestListener = (_request, response) => {
    response.writeHead(200, { "content-type": "text/plain" });
    response.end("ok");
  };

  it("answers the caller's sane x-request-id, and a new uuid in place of a missing or insane one", async () => {
    const url = await serve(ok, capturedLog().logger);
    const given = await fetch(url, { headers: { "x-request-id": "req-1234_abc:9" } });
    expect(given.headers.get("x-request-id")).toBe("req-1234_abc:9");
    const missing = await fetch(url);
    expect(missing.headers.get("x-request-id")).toMatch(UUID);
    const second = await fetch(url);
    expect(second.headers.get("x-request-id")).not.toBe(missing.headers.get("x-request-id"));
    for (const insane of ["has space", "x".repeat(129), 'quote"d', "semi;colon"]) {
      const response = await fetch(url, { headers: { "x-request-id": insane } });
      expect(response.headers.get("x-request-id")).toMatch(UUID);
    }
  });

  it("writes one access-log line per request with method, route, status, duration and ids", async () => {
    const log = capturedLog();
    const completed: CompletedRequest[] = [];
    const url = await serve(ok, log.logger, completed);
    const response = await fetch(`${url}/things/7?q=1`, {
      headers: {
        "x-request-id": "access-1",
        traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`,
        authorization: "Bearer secret-token",
      },
    });
    await response.text();
    await until(() => completed.length === 1);
    const lines = log.lines.filter((line) => line.msg === "request");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      method: "GET",
      route: "GET /things/7",
      status: 200,
      requestId: "access-1",
      traceId: TRACE_ID,
    });
    expect(lines[0]?.durationMs).toBeTypeOf("number");
    expect(lines[0]?.aborted).toBeUndefined();
    expect(JSON.stringify(log.lines)).not.toContain("secret-token");
  });

  it("attaches the request's context to the request object for the code that passes the id on", async () => {
    const seen: (RequestContext | undefined)[] = [];
    const url = await serve((request, response) => {
      seen.push(requestContextOf(request));
      response.end("ok");
    }, capturedLog().logger);
    const response = await fetch(url, {
      headers: { "x-request-id": "attached-1", traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` },
    });
    await response.text();
    expect(seen).toEqual([{ requestId: "attached-1", traceId: TRACE_ID }]);
  });

  it("escapes what JSON needs escaped in a line, and keeps every line parseable", async () => {
    const log = capturedLog();
    const completed: CompletedRequest[] = [];
    server = createServer(
      observeRequests(ok, {
        logger: log.logger,
        routeOf: () => 'we"ird\\route\n\u00e9',
        onCompleted: (request) => completed.push(request),
      }),
    );
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`)).text();
    await until(() => completed.length === 1);
    expect(log.lines[0]).toMatchObject({ route: 'we"ird\\route\n\u00e9', msg: "request" });
  });

  it("ignores a malformed or all-zero traceparent", async () => {
    const log = capturedLog();
    const completed: CompletedRequest[] = [];
    const url = await serve(ok, log.logger, completed);
    for (const traceparent of [
      "garbage",
      `00-${"0".repeat(32)}-00f067aa0ba902b7-01`,
      `00-${TRACE_ID.toUpperCase()}-00f067aa0ba902b7-01`,
    ]) {
      await (await fetch(url, { headers: { traceparent } })).text();
    }
    await until(() => completed.length === 3);
    expect(completed.map((request) => request.context.traceId)).toEqual([undefined, undefined, undefined]);
  });

  it("logs a request whose client went away as aborted, once", async () => {
    const log = capturedLog();
    const completed: CompletedRequest[] = [];
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const url = await serve(
      (_request, response) => {
        response.writeHead(200);
        (response as ServerResponse).write("partial");
        started();
      },
      log.logger,
      completed,
    );
    const client = httpRequest(`${url}/hangs`, { headers: { "x-request-id": "gone-1" } });
    client.on("error", () => {});
    client.end();
    await handlerStarted;
    client.destroy();
    await until(() => completed.length === 1);
    expect(completed[0]).toMatchObject({ aborted: true, route: "GET /hangs" });
    expect(log.lines.filter((line) => line.msg === "request")).toEqual([
      expect.objectContaining({ requestId: "gone-1", aborted: true }),
    ]);
  });

  it("records a response ended before the listener returned at once, one answered later on close", async () => {
    const finished = new Set<string>();
    const recordedBeforeFinish: Record<string, boolean> = {};
    const completed: CompletedRequest[] = [];
    const answer: RequestListener = (request, response) => {
      ok(request, response);
      response.on("finish", () => finished.add(request.url ?? ""));
    };
    server = createServer(
      observeRequests(
        (request, response) => {
          if (request.url === "/now") answer(request, response);
          else setTimeout(() => answer(request, response), 20);
        },
        {
          logger: capturedLog().logger,
          routeOf: (_method, url) => url,
          onCompleted: (request) => {
            recordedBeforeFinish[request.route] = !finished.has(request.route);
            completed.push(request);
          },
        },
      ),
    );
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await (await fetch(`${url}/now`)).text();
    await (await fetch(`${url}/later`)).text();
    await until(() => completed.length === 2);
    // Ended inside the listener: recorded as it returned, before Node even finished the response.
    // Ended later: recorded when the response closed, after it finished.
    expect(recordedBeforeFinish).toEqual({ "/now": true, "/later": false });
    expect(completed.map(({ route, status, aborted }) => ({ route, status, aborted }))).toEqual([
      { route: "/now", status: 200, aborted: false },
      { route: "/later", status: 200, aborted: false },
    ]);
  });

  it("writes no access-log line below info, and still counts the request", async () => {
    const log = capturedLog("warn");
    const completed: CompletedRequest[] = [];
    const url = await serve(ok, log.logger, completed);
    await (await fetch(url)).text();
    await until(() => completed.length === 1);
    expect(log.lines).toEqual([]);
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 400 && !condition(); attempt++) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}
