/**
 * docs/api.md, "Limits": bodies and connections, attacked for real against a child process started as
 * `npm start` starts it (on the real services when this run has them, embedded otherwise). Each
 * test asserts on what the attack cost the server (bytes it accepted, its peak memory, how long
 * connections stayed open), not only on the status it answered.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChildApp, startChildApp } from "./support/child-app.js";
import {
  createServiceDeployment,
  type ServiceDeployment,
  serviceUrls,
  TEST_SECRET,
} from "./support/deployment.js";

const MAX_BODY_BYTES = 1_048_576;
/** A compressed body inflating to this much: 256× the limit, ~256 KB on the wire. */
const BOMB_BYTES = 256 * 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Peak and current resident memory of a process, in bytes (Linux). */
function memoryOf(pid: number): { peak: number; current: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) * 1024;
  return { peak: kb("VmHWM"), current: kb("VmRSS") };
}

/** What a raw TCP client got: the bytes it managed to send, and the response text. */
interface RawExchange {
  sent: number;
  response: string;
  elapsedMs: number;
}

/**
 * Sends `head` and then `bodyBytes` of zeros as fast as the server takes them, and stops once the
 * server answers or closes. `sent` counts what the socket accepted (the server's reads plus the
 * kernel's buffers in between).
 */
function sendLargeBody(port: number, head: string, bodyBytes: number, chunked = false): Promise<RawExchange> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1");
    let response = "";
    let sent = 0;
    let finished = false;
    const chunk = Buffer.alloc(64 * 1024);
    const finish = () => {
      if (finished) return;
      finished = true;
      socket.destroy();
      resolve({ sent, response, elapsedMs: Date.now() - started });
    };
    const pump = () => {
      while (!finished && sent < bodyBytes && response === "") {
        const piece = chunked
          ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")])
          : chunk;
        sent += chunk.length;
        if (!socket.write(piece)) {
          socket.once("drain", pump);
          return;
        }
      }
    };
    socket.on("connect", () => {
      socket.write(head);
      pump();
    });
    socket.on("data", (data) => {
      response += data.toString("latin1");
      // Give the rest of the answer a moment to arrive, then stop sending.
      setTimeout(finish, 200);
    });
    socket.on("error", () => setTimeout(finish, 50));
    socket.on("close", () => setTimeout(finish, 50));
    setTimeout(finish, 20_000);
  });
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

function bodyOf(response: string): string {
  return response.slice(response.indexOf("\r\n\r\n") + 4);
}

describe("hostile bodies and connections (child process)", () => {
  let child: ChildApp;
  let deployment: ServiceDeployment | undefined;
  let dataDir: string | undefined;

  const start = async (extra: Record<string, string> = {}) => {
    const env: Record<string, string> = {
      PORT: "0",
      HOST: "127.0.0.1",
      JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: "warn",
      ...(deployment?.env ?? { DATA_DIR: dataDir as string }),
      ...extra,
    };
    return startChildApp(env);
  };

  beforeAll(async () => {
    if (Array.isArray(serviceUrls())) dataDir = mkdtempSync(path.join(tmpdir(), "hostile-"));
    else deployment = await createServiceDeployment();
    child = await start();
  });
  afterAll(async () => {
    await child?.stop();
    await deployment?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("refuses a compression bomb on a Connect route having inflated no more than the limit", async () => {
    const bomb = gzipSync(Buffer.alloc(BOMB_BYTES, " "), { level: 9 });
    expect(bomb.length).toBeLessThan(400 * 1024);
    // Warm up, so the baseline includes what any request costs.
    await fetch(`${child.url}/healthz`);
    const before = memoryOf(child.process.pid as number);
    const answers = await Promise.all(
      Array.from({ length: 4 }, () =>
        fetch(`${child.url}/ecommerce.inventory.v1.InventoryService/ListProducts`, {
          method: "POST",
          headers: { "content-type": "application/json", "content-encoding": "gzip" },
          body: bomb,
        }).then(async (response) => ({ status: response.status, body: await response.text() })),
      ),
    );
    for (const answer of answers) {
      expect(answer.status, answer.body).toBe(429);
      expect(JSON.parse(answer.body)).toMatchObject({ code: "resource_exhausted" });
    }
    const after = memoryOf(child.process.pid as number);
    // Four bombs at once would have cost 4 × 256 MB; each may cost the limit and some buffers.
    expect(after.peak - before.peak).toBeLessThan(64 * 1024 * 1024);
  });

  it("refuses a compression bomb over gRPC-Web and gRPC framing alike", async () => {
    const message = gzipSync(Buffer.alloc(BOMB_BYTES / 4, 0), { level: 9 });
    const envelope = Buffer.alloc(5 + message.length);
    envelope[0] = 1; // compressed
    envelope.writeUInt32BE(message.length, 1);
    message.copy(envelope, 5);
    const before = memoryOf(child.process.pid as number);
    const web = await fetch(`${child.url}/ecommerce.inventory.v1.InventoryService/ListProducts`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "grpc-encoding": "gzip", "x-grpc-web": "1" },
      body: envelope,
    });
    const trailer = Buffer.from(await web.arrayBuffer()).toString("latin1");
    expect(web.headers.get("grpc-status") ?? /grpc-status:\s*(\d+)/.exec(trailer)?.[1]).toBe("8");

    const session = http2.connect(child.url);
    const grpcStatus = await new Promise<string | undefined>((resolve, reject) => {
      const stream = session.request({
        ":method": "POST",
        ":path": "/ecommerce.inventory.v1.InventoryService/ListProducts",
        "content-type": "application/grpc",
        "grpc-encoding": "gzip",
        te: "trailers",
      });
      let status: string | undefined;
      stream.on("response", (headers) => {
        status ??= headers["grpc-status"] as string | undefined;
      });
      stream.on("trailers", (trailers) => {
        status ??= trailers["grpc-status"] as string | undefined;
      });
      stream.on("close", () => resolve(status));
      stream.on("error", reject);
      stream.resume();
      stream.end(envelope);
    });
    session.close();
    expect(grpcStatus).toBe("8"); // RESOURCE_EXHAUSTED
    const after = memoryOf(child.process.pid as number);
    expect(after.peak - before.peak).toBeLessThan(64 * 1024 * 1024);
  });

  it("refuses an oversized REST body with 413 having read about the limit, anonymous or not", async () => {
    const declared = await sendLargeBody(
      child.port,
      `POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${200 * 1024 * 1024}\r\n\r\n`,
      200 * 1024 * 1024,
    );
    expect(statusOf(declared.response), declared.response).toBe(413);
    expect(JSON.parse(bodyOf(declared.response))).toMatchObject({ status: 413, code: "resource_exhausted" });
    // The server read none of it (Content-Length said enough); the rest is kernel buffers.
    expect(declared.sent).toBeLessThan(24 * 1024 * 1024);
    expect(declared.elapsedMs).toBeLessThan(5_000);

    const chunked = await sendLargeBody(
      child.port,
      "POST /products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
      200 * 1024 * 1024,
      true,
    );
    expect(statusOf(chunked.response), chunked.response).toBe(413);
    expect(chunked.response).toMatch(/content-type: application\/problem\+json/i);
    expect(chunked.sent).toBeLessThan(MAX_BODY_BYTES + 24 * 1024 * 1024);
  });

  it("refuses an oversized Connect body without reading it to the end", async () => {
    const exchange = await sendLargeBody(
      child.port,
      `POST /ecommerce.orders.v1.OrderService/CreateOrder HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${200 * 1024 * 1024}\r\n\r\n`,
      200 * 1024 * 1024,
    );
    expect(statusOf(exchange.response), exchange.response).toBe(429);
    expect(bodyOf(exchange.response)).toContain("resource_exhausted");
    expect(exchange.sent).toBeLessThan(24 * 1024 * 1024);
  });

  it("closes silent and slow connections after 10 s while serving normal requests", async () => {
    const opened: { socket: net.Socket; closedAt?: number }[] = [];
    const started = Date.now();
    const open = (greeting?: string) => {
      const entry: { socket: net.Socket; closedAt?: number } = {
        socket: net.connect(child.port, "127.0.0.1"),
      };
      entry.socket.on("error", () => {});
      // Read what the server sends (a 408), or the end of the stream would never be seen.
      entry.socket.resume();
      entry.socket.on("close", () => {
        entry.closedAt = Date.now() - started;
      });
      if (greeting !== undefined) entry.socket.on("connect", () => entry.socket.write(greeting));
      opened.push(entry);
      return entry;
    };
    // 300 that say nothing, 100 that start a request and never finish its headers, 50 that
    // trickle a header line every 2 s, 30 HTTP/2 connections that never open a stream; below,
    // 20 whose second request stalls and 5 idle ones that must stay.
    for (let i = 0; i < 300; i++) open();
    for (let i = 0; i < 100; i++) open("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    const tricklers = Array.from({ length: 50 }, () => open("GET /healthz HTTP/1.1\r\n"));
    const trickle = setInterval(() => {
      for (const { socket } of tricklers) if (!socket.destroyed) socket.write(`X-Slow-${Date.now()}: 1\r\n`);
    }, 2_000);
    const sessions = Array.from({ length: 30 }, () => {
      const session = http2.connect(child.url);
      session.on("error", () => {});
      return session;
    });
    // 20 that complete one request, then start a second and never finish its headers.
    const secondRequests = Array.from({ length: 20 }, () => open("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    // 5 idle after one complete request: only the 65 s keep-alive timeout may close them.
    const idle: net.Socket[] = [];
    for (let i = 0; i < 5; i++) {
      const socket = net.connect(child.port, "127.0.0.1", () =>
        socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
      );
      socket.on("error", () => {});
      socket.resume();
      idle.push(socket);
    }
    try {
      await sleep(1_000);
      for (const { socket } of secondRequests) socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
      // Normal requests are served while all of that is open.
      const during = await fetch(`${child.url}/products?page_size=1`);
      expect(during.status).toBe(200);
      await sleep(11_500);
      const stillOpen = opened.filter((entry) => entry.closedAt === undefined).length;
      expect(stillOpen).toBe(0);
      expect(idle.filter((socket) => socket.destroyed || socket.readableEnded)).toHaveLength(0);
      expect(sessions.filter((session) => !session.closed && !session.destroyed)).toHaveLength(0);
      const after = await fetch(`${child.url}/healthz`);
      expect(after.status).toBe(200);
    } finally {
      clearInterval(trickle);
      for (const { socket } of opened) socket.destroy();
      for (const socket of idle) socket.destroy();
      for (const session of sessions) session.destroy();
    }
  }, 40_000);

  it("answers what node:http cannot parse (431, 400) in the API's problem+json, then closes", async () => {
    const exchange = (request: string) =>
      new Promise<string>((resolve) => {
        let text = "";
        const socket = net.connect(child.port, "127.0.0.1", () => socket.write(request));
        socket.on("data", (data) => {
          text += data.toString();
        });
        socket.on("close", () => resolve(text));
        socket.on("error", () => resolve(text));
      });
    const tooLong = await exchange(`GET /products/${"x".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(statusOf(tooLong), tooLong).toBe(431);
    expect(tooLong).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(bodyOf(tooLong))).toMatchObject({ status: 431, code: "invalid_argument" });
    const garbled = await exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nBad header line\r\n\r\n");
    expect(statusOf(garbled), garbled).toBe(400);
    expect(JSON.parse(bodyOf(garbled))).toMatchObject({ status: 400, code: "invalid_argument" });
  });

  it("limits HTTP/2 streams per connection and idle keep-alive connections to docs/api.md's values", async () => {
    const session = http2.connect(child.url);
    await new Promise<void>((resolve) => session.once("remoteSettings", () => resolve()));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
    session.close();
    // node:http announces its keep-alive timeout; the server closes idle connections after it.
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(child.port, "127.0.0.1", () =>
        socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
      );
      socket.once("data", (data) => {
        resolve(data.toString());
        socket.destroy();
      });
    });
    expect(answer).toMatch(/keep-alive: timeout=65/i);
  });

  it("with a thousand connections open, SIGTERM turns /readyz to 503 at once and exits within 10 s", async () => {
    const ownDir = deployment ? undefined : mkdtempSync(path.join(tmpdir(), "hostile-"));
    const target = await start(ownDir ? { DATA_DIR: ownDir } : {});
    const connections: net.Socket[] = [];
    try {
      // A keep-alive connection that will ask for /readyz right after the signal.
      const probe = net.connect(target.port, "127.0.0.1");
      await new Promise<void>((resolve) => probe.once("connect", () => resolve()));
      probe.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      await new Promise<void>((resolve) => probe.once("data", () => resolve()));

      for (let i = 0; i < 1000; i++) {
        const socket = net.connect(target.port, "127.0.0.1");
        socket.on("error", () => {});
        if (i % 3 === 1) socket.on("connect", () => socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
        if (i % 3 === 2) socket.on("connect", () => socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
        connections.push(socket);
      }
      await sleep(1_500);

      const readyAfterSignal = new Promise<string>((resolve) => {
        let text = "";
        probe.on("data", (data) => {
          text += data.toString();
          if (text.includes("\r\n\r\n")) resolve(text);
        });
        probe.on("close", () => resolve(text));
      });
      const stopped = target.stop("SIGTERM");
      await sleep(20);
      probe.write("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
      const ready = await readyAfterSignal;
      expect(statusOf(ready), ready).toBe(503);
      const { code, elapsedMs } = await stopped;
      expect(elapsedMs).toBeLessThan(10_000);
      expect(code).toBe(0);
    } finally {
      for (const socket of connections) socket.destroy();
      await target.stop("SIGKILL");
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    }
  }, 30_000);
});
