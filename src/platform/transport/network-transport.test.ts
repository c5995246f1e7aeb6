/**
 * The network transport (network-transport.ts) with the one port's unary fast path
 * (server/connect-unary-fast-path.ts), over a real socket, must be indistinguishable from
 * createRouterTransport, the reference: the conformance cases of the in-process transport
 * (transport-conformance-cases.ts) run against both. Each half also runs against connect-node's
 * stock other half, so that either still speaks the Connect protocol on the wire.
 *
 * Where the wire makes a difference, it is said below: what the handler's signal reports when the
 * client ends the call is seen by the handler a moment after the client has its answer (its reason
 * does not cross the wire), so those fields are checked by tests of their own.
 */
import http from "node:http";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  closeServers,
  networkMaker,
  READ_MAX_BYTES,
  startServer,
} from "../../../test/support/network-conformance.js";
import {
  callCases,
  cancellationCases,
  interceptorCases,
} from "../../../test/support/transport-conformance-cases.js";
import {
  fakeInventory,
  makeRouter,
  type Seen,
  type SharedCase,
  settle,
  setup,
  summarizeError,
} from "../../../test/support/transport-conformance-fixtures.js";
import { InventoryService } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { connectionLossIsUnavailable } from "./connection-loss.js";
import { calledInProcess } from "./in-process-call.js";
import { createNetworkTransport } from "./network-transport.js";

afterEach(closeServers);

/**
 * Fields of outcomes that depend on the time a request takes to cross: what the handler's signal
 * reports when the client ends the call is seen by the handler after the client has its answer,
 * and the deadline a handler sees is the caller's minus the time the request took to arrive (on a
 * loaded machine, all of a 30 ms deadline). The tests below check them on their own.
 */
const CROSSING_TIME: Record<string, string[]> = {
  "aborts the handler's signal on the deadline and fails with deadline_exceeded": [
    "handlerSaw",
    "remainingWithinDeadline",
  ],
  "cancels through the caller's signal": ["handlerSaw"],
  "honours a signal that a client interceptor substitutes": ["handlerSaw"],
  "works with client interceptors that pass on a copy of the request": ["handlerSaw"],
};

function withoutAsync(name: string, outcome: unknown): unknown {
  const fields = CROSSING_TIME[name];
  if (fields === undefined || typeof outcome !== "object" || outcome === null) return outcome;
  return { ...outcome, ...Object.fromEntries(fields.map((field) => [field, "(checked on its own)"])) };
}

const allCases: SharedCase[] = [...callCases, ...cancellationCases, ...interceptorCases];

describe("network transport + fast path, against createRouterTransport", () => {
  it.each(allCases)("$name", async ({ name, run, expected }) => {
    const { make, last } = networkMaker("platform", "fast path");
    const network = await run(make);
    const router = await run(makeRouter);
    expect({ network: withoutAsync(name, network), router }).toEqual({
      network: withoutAsync(name, expected),
      router: expected,
    });
    // Every unary call that reached the server was answered by the fast path.
    expect(last.counts.fallback).toBe(0);
  });
});

describe("each half against connect-node's other half", () => {
  it.each(callCases)("connect-node's client, the fast path: $name", async ({ run, expected }) => {
    const { make, last } = networkMaker("connect-node", "fast path");
    expect(await run(make)).toEqual(expected);
    expect(last.counts.fallback).toBe(0);
  });

  it.each(callCases)("the platform's client, connect-node's adapter: $name", async ({ run, expected }) => {
    const { make } = networkMaker("platform", "connect-node");
    expect(await run(make)).toEqual(expected);
  });

  it.each([...cancellationCases, ...interceptorCases])(
    "the platform's client, connect-node's adapter: $name",
    async ({ name, run, expected }) => {
      const { make } = networkMaker("platform", "connect-node");
      expect(withoutAsync(name, await run(make))).toEqual(withoutAsync(name, expected));
    },
  );
});

/** Waits until `seen` has recorded the handler's signal reason. */
async function reasonSeen(seen: Seen): Promise<unknown> {
  for (let waited = 0; seen.signalReason === undefined && waited < 2000; waited += 5) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return seen.signalReason;
}

describe("network transport + fast path", () => {
  it("aborts the handler's signal when the client cancels, and fails the call with canceled", async () => {
    const { make } = networkMaker("platform", "fast path");
    const { seen, client } = setup(make);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const outcome = await settle(client.getProduct({ id: "wait" }, { signal: controller.signal }));
    expect(outcome).toMatchObject({ error: { code: "Canceled", rawMessage: "This operation was aborted" } });
    expect(((await reasonSeen(seen)) as Error).name).toBe("AbortError");
  });

  it("gives the handler the caller's deadline and aborts its signal there, on the server's own clock", async () => {
    // A client that sends connect-timeout-ms but does not end the call itself: the server's
    // deadline is what ends the handler.
    const seen: Seen = { calls: 0 };
    const { baseUrl, counts } = startServer(
      (router) => router.service(InventoryService, fakeInventory(seen)),
      {
        fastPath: true,
      },
    );
    const answer = await rawCall(await baseUrl, "GetProduct", wire({ id: "wait" }), {
      "connect-timeout-ms": "60",
    });
    expect(answer.status).toBe(504);
    expect(JSON.parse(answer.body)).toEqual({
      code: "deadline_exceeded",
      message: "the operation timed out",
    });
    expect(summarizeError(seen.signalReason)).toMatchObject({ code: "DeadlineExceeded" });
    expect(seen.remainingMs).toBeGreaterThan(0);
    expect(seen.remainingMs).toBeLessThanOrEqual(60);
    expect(counts).toEqual({ fastPath: 1, fallback: 0 });
  });

  it("ends the call at its deadline on the client even if the server never answers", async () => {
    const silent = http.createServer(() => {});
    const port = await listen(silent);
    try {
      const transport = createNetworkTransport({ baseUrl: `http://127.0.0.1:${port}` });
      const started = Date.now();
      const outcome = await settle(
        createClient(InventoryService, transport).getProduct({ id: "p-1" }, { timeoutMs: 100 }),
      );
      expect(outcome).toMatchObject({
        error: { code: "DeadlineExceeded", rawMessage: "the operation timed out" },
      });
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it("sends long deadlines too, and they fire, shared timers or not", async () => {
    const { make } = networkMaker("platform", "fast path");
    const { seen, client } = setup(make);
    await client.getProduct({ id: "p-1" }, { timeoutMs: 5_000 });
    expect(seen.remainingMs).toBeGreaterThan(4_000);
    expect(seen.remainingMs).toBeLessThanOrEqual(5_000);
    const started = Date.now();
    const outcome = await settle(client.getProduct({ id: "wait" }, { timeoutMs: 1_000 }));
    expect(outcome).toMatchObject({ error: { code: "DeadlineExceeded" } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("reports a connection that breaks mid-call as unavailable (with connectionLossIsUnavailable)", async () => {
    const breaking = http.createServer((request) => request.socket.destroy());
    const port = await listen(breaking);
    try {
      const baseUrl = `http://127.0.0.1:${port}`;
      const bare = createClient(InventoryService, createNetworkTransport({ baseUrl }));
      // As connect-node reports it: a reset is `aborted`, with the Node error as its cause.
      expect(await settle(bare.getProduct({ id: "p-1" }))).toMatchObject({
        error: { code: "Aborted", hasCause: true },
      });
      const client = createClient(
        InventoryService,
        createNetworkTransport({ baseUrl, interceptors: [connectionLossIsUnavailable] }),
      );
      expect(await settle(client.getProduct({ id: "p-1" }))).toMatchObject({
        error: { code: "Unavailable", rawMessage: expect.stringContaining("is unreachable") },
      });
    } finally {
      breaking.close();
    }
  });

  it("reports a process that is down as unavailable", async () => {
    const client = createClient(InventoryService, createNetworkTransport({ baseUrl: "http://127.0.0.1:1" }));
    expect(await settle(client.getProduct({ id: "p-1" }))).toMatchObject({ error: { code: "Unavailable" } });
  });

  it("never tells the handler its caller is in this process", async () => {
    const seen: Seen = { calls: 0 };
    const server = startServer((router) => router.service(InventoryService, fakeInventory(seen)), {
      fastPath: true,
    });
    const client = createClient(InventoryService, createNetworkTransport({ baseUrl: await server.baseUrl }));
    await client.getProduct({ id: "p-1" });
    expect(seen.calls).toBe(1);
    expect(seen.context && calledInProcess(seen.context)).toBe(false);
  });

  it("reuses a kept-alive connection for calls one after another", async () => {
    const sockets = new Set<unknown>();
    const server = startServer((router) => router.service(InventoryService, fakeInventory({ calls: 0 })), {
      fastPath: true,
    });
    const baseUrl = await server.baseUrl;
    const agent = new http.Agent({ keepAlive: true });
    const originalCreate = agent.createConnection.bind(agent);
    agent.createConnection = (...args: Parameters<typeof originalCreate>) => {
      const socket = originalCreate(...args);
      sockets.add(socket);
      return socket;
    };
    try {
      const again = createClient(InventoryService, createNetworkTransport({ baseUrl, agent }));
      for (let i = 0; i < 5; i++) await again.getProduct({ id: "p-1" });
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it("refuses a body over the limit as connect-node does (it answers it)", async () => {
    const name = "x".repeat(READ_MAX_BYTES + 10);
    const answers = [];
    for (const fastPath of [true, false]) {
      const seen: Seen = { calls: 0 };
      const { baseUrl, counts } = startServer(
        (router) => router.service(InventoryService, fakeInventory(seen)),
        { fastPath },
      );
      const client = createClient(InventoryService, createNetworkTransport({ baseUrl: await baseUrl }));
      answers.push({ outcome: await settle(client.createProduct({ name })), calls: seen.calls });
      if (fastPath) expect(counts.fallback).toBe(1);
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toMatchObject({
      outcome: { error: { code: "ResourceExhausted" } },
      calls: 0,
    });
  });

  it("runs interceptors that see the protocol headers connect-node's client sends", async () => {
    const seenHeaders: Record<string, string | null>[] = [];
    const { make } = networkMaker("platform", "fast path");
    const { client } = setup(make, {
      interceptors: [
        (next) => (request) => {
          seenHeaders.push({
            "content-type": request.header.get("content-type"),
            "connect-protocol-version": request.header.get("connect-protocol-version"),
            "connect-timeout-ms": request.header.get("connect-timeout-ms"),
          });
          return next(request);
        },
      ],
    });
    await client.getProduct({ id: "p-1" }, { timeoutMs: 2_000 });
    expect(seenHeaders).toEqual([
      { "content-type": "application/proto", "connect-protocol-version": "1", "connect-timeout-ms": "2000" },
    ]);
  });

  it("turns an answer that is not Connect's into the error Connect's transport gives", async () => {
    const proxy = http.createServer((_request, response) => {
      response.writeHead(502, { "content-type": "text/html" });
      response.end("<h1>Bad gateway</h1>");
    });
    const port = await listen(proxy);
    try {
      const outcomes = [];
      for (const transport of [
        createNetworkTransport({ baseUrl: `http://127.0.0.1:${port}` }),
        createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" }),
      ]) {
        outcomes.push(await settle(createClient(InventoryService, transport).getProduct({ id: "p-1" })));
      }
      expect(outcomes[0]).toEqual(outcomes[1]);
      expect(outcomes[0]).toMatchObject({ error: { code: "Unavailable", rawMessage: "HTTP 502" } });
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });

  it("keeps a ConnectError thrown by an interceptor as it is", async () => {
    const { make } = networkMaker("platform", "fast path");
    const { client } = setup(make, {
      interceptors: [
        () => () => {
          throw new ConnectError("no", Code.PermissionDenied);
        },
      ],
    });
    expect(await settle(client.getProduct({ id: "p-1" }))).toMatchObject({
      error: { code: "PermissionDenied", rawMessage: "no" },
    });
  });
});

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as import("node:net").AddressInfo).port)),
  );
}

/** A GetProductRequest on the wire (field 1, the id). */
function wire({ id }: { id: string }): Buffer {
  const bytes = Buffer.from(id);
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

async function rawCall(
  baseUrl: string,
  method: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const response = await fetch(`${baseUrl}/ecommerce.inventory.v1.InventoryService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/proto", "accept-encoding": "identity", ...headers },
    body,
  });
  return { status: response.status, body: await response.text() };
}
