/**
 * Transports over a real socket for the conformance cases (transport-conformance-cases.ts): the
 * platform's network transport (network-transport.ts) against the one port's unary fast path in
 * front of connect-node's adapter (connect-unary-fast-path.ts), as the composition root wires them,
 * and each half against connect-node's stock other half. Every server is a node:http server on a
 * free port, closed by `closeServers` (call it after each test).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ConnectRouter, Interceptor, Transport } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { connectUnaryFastPath } from "../../src/platform/server/connect-unary-fast-path.js";
import type { RequestListener } from "../../src/platform/server/request-listener.js";
import { createNetworkTransport } from "../../src/platform/transport/network-transport.js";
import type { MakeTransport, TransportOptions } from "./transport-conformance-fixtures.js";

/** The body limit of the servers made here (MAX_BODY_BYTES of the one port). */
export const READ_MAX_BYTES = 4096;

/** What a server made here answered where: the fast path, or connect-node behind it. */
export interface ServedCounts {
  fastPath: number;
  fallback: number;
}

const open: (() => Promise<void>)[] = [];

export async function closeServers(): Promise<void> {
  await Promise.all(open.splice(0).map((close) => close()));
}

/** A listening server for `routes`: with the fast path in front of connect-node, or connect-node alone. */
export function startServer(
  routes: (router: ConnectRouter) => void,
  options: { serverInterceptors?: Interceptor[]; fastPath: boolean; readMaxBytes?: number },
): { baseUrl: Promise<string>; counts: ServedCounts } {
  const readMaxBytes = options.readMaxBytes ?? READ_MAX_BYTES;
  const counts: ServedCounts = { fastPath: 0, fallback: 0 };
  const adapter = connectNodeAdapter({ routes, interceptors: options.serverInterceptors, readMaxBytes });
  const fallback: RequestListener = (request, response) => {
    counts.fallback++;
    adapter(request as http.IncomingMessage, response as http.ServerResponse);
  };
  const listener: RequestListener = options.fastPath
    ? connectUnaryFastPath({ routes, interceptors: options.serverInterceptors, readMaxBytes }, fallback)
    : fallback;
  const server = http.createServer((request, response) => {
    if (options.fastPath) counts.fastPath++;
    listener(request, response);
  });
  const baseUrl = new Promise<string>((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
  open.push(async () => {
    await baseUrl;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  });
  return { baseUrl, counts };
}

/** A transport made once `baseUrl` is known (the conformance cases make transports synchronously). */
function deferred(baseUrl: Promise<string>, make: (baseUrl: string) => Transport): Transport {
  const transport = baseUrl.then(make);
  return {
    unary: async (...args) => (await transport).unary(...args),
    stream: async (...args) => (await transport).stream(...args),
  };
}

function agentFor(): http.Agent {
  const agent = new http.Agent({ keepAlive: true });
  open.push(async () => agent.destroy());
  return agent;
}

/**
 * The cases' MakeTransport for one pairing. `last.counts` is the server of the latest transport
 * made, for a test to check which path answered.
 */
export function networkMaker(client: "platform" | "connect-node", server: "fast path" | "connect-node") {
  const last: { counts: ServedCounts } = { counts: { fastPath: 0, fallback: 0 } };
  const make: MakeTransport = (routes, options: TransportOptions = {}) => {
    const started = startServer(routes, {
      serverInterceptors: options.serverInterceptors,
      fastPath: server === "fast path",
    });
    last.counts = started.counts;
    return deferred(started.baseUrl, (baseUrl) =>
      client === "platform"
        ? createNetworkTransport({ baseUrl, interceptors: options.interceptors, agent: agentFor() })
        : createConnectTransport({
            baseUrl,
            httpVersion: "1.1",
            interceptors: options.interceptors,
            // connect-node's client otherwise accepts compressed answers, which the fast path
            // leaves to connect-node (see servedHere).
            acceptCompression: [],
            nodeOptions: { agent: agentFor() },
          }),
    );
  };
  return { make, last };
}
