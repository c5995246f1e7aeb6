import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturedLog } from "../../../test/support/captured-log.js";
import { sampleValue } from "../../../test/support/prometheus-text.js";
import { InventoryService } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { OrderService } from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import { reportingFailures } from "../errors/public-error.js";
import { createMetricsRegistry } from "../metrics.js";
import { createInProcessTransport } from "../transport/in-process-transport.js";
import { RpcMetrics } from "./rpc-metrics.js";

const SERVICE = "ecommerce.inventory.v1.InventoryService";

/** GetProduct answers "p-…" ids, refuses "missing" as not found and fails on anything else. */
function routes(router: ConnectRouter): void {
  router.service(InventoryService, {
    getProduct(request) {
      if (request.id === "missing") throw new ConnectError("no such product", Code.NotFound);
      if (!request.id.startsWith("p-")) throw new Error("the database exploded");
      return { product: { id: request.id, name: "Cup" } };
    },
  });
}

async function calls(client: ReturnType<typeof createClient<typeof InventoryService>>): Promise<void> {
  await client.getProduct({ id: "p-1" });
  await client.getProduct({ id: "p-2" });
  await expect(client.getProduct({ id: "missing" })).rejects.toMatchObject({ code: Code.NotFound });
  await expect(client.getProduct({ id: "boom" })).rejects.toMatchObject({ code: Code.Internal });
}

describe("RpcMetrics: Connect calls by service, method and code, on both sides", () => {
  it("counts a call in process once as made and once as handled, with the code the caller got", async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const metrics = new RpcMetrics(registry);
    const transport = createInProcessTransport(routes, { onUnaryCompleted: metrics.inProcessCall });
    await calls(createClient(InventoryService, transport));
    const text = await registry.metrics();
    for (const side of ["server", "client"]) {
      const count = (code: string) =>
        sampleValue(text, `rpc_${side}_requests_total`, { service: SERVICE, method: "GetProduct", code });
      expect(count("ok")).toBe(2);
      expect(count("not_found")).toBe(1);
      // A plain Error reaches the caller as internal, and is counted so.
      expect(count("internal")).toBe(1);
      expect(
        sampleValue(text, `rpc_${side}_duration_seconds_count`, {
          service: SERVICE,
          method: "GetProduct",
          code: "ok",
        }),
      ).toBe(2);
    }
  });

  describe("over the network", () => {
    const serverRegistry = createMetricsRegistry({ defaultMetrics: false });
    const clientRegistry = createMetricsRegistry({ defaultMetrics: false });
    let server: Server;
    let baseUrl: string;

    beforeAll(async () => {
      const serverMetrics = new RpcMetrics(serverRegistry);
      server = createServer(connectNodeAdapter({ routes, interceptors: [serverMetrics.handled] }));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("counts handled calls on the server and made calls on the client, each on its own side", async () => {
      const clientMetrics = new RpcMetrics(clientRegistry);
      const transport = createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        interceptors: [clientMetrics.made],
      });
      await calls(createClient(InventoryService, transport));
      const served = await serverRegistry.metrics();
      const made = await clientRegistry.metrics();
      const labels = (code: string) => ({ service: SERVICE, method: "GetProduct", code });
      expect(sampleValue(served, "rpc_server_requests_total", labels("ok"))).toBe(2);
      expect(sampleValue(served, "rpc_server_requests_total", labels("not_found"))).toBe(1);
      expect(sampleValue(served, "rpc_client_requests_total", labels("ok"))).toBeUndefined();
      expect(sampleValue(made, "rpc_client_requests_total", labels("ok"))).toBe(2);
      expect(sampleValue(made, "rpc_client_requests_total", labels("internal"))).toBe(1);
      expect(sampleValue(made, "rpc_server_requests_total", labels("ok"))).toBeUndefined();
    });

    it("counts a server that cannot be reached as unavailable on the client side", async () => {
      const registry = createMetricsRegistry({ defaultMetrics: false });
      const metrics = new RpcMetrics(registry);
      const transport = createConnectTransport({
        baseUrl: "http://127.0.0.1:1",
        httpVersion: "1.1",
        interceptors: [metrics.made],
      });
      await expect(
        createClient(InventoryService, transport).getProduct({ id: "p-1" }),
      ).rejects.toBeInstanceOf(ConnectError);
      const text = await registry.metrics();
      expect(
        sampleValue(text, "rpc_client_requests_total", {
          service: SERVICE,
          method: "GetProduct",
          code: "unavailable",
        }),
      ).toBe(1);
    });
  });
});

/**
 * WatchOrders as a stub: `x-outcome: refuse` fails before any message, `explode` after one with a
 * plain Error, anything else sends two messages 50 ms apart and ends.
 */
function streamRoutes(router: ConnectRouter): void {
  router.service(OrderService, {
    async *watchOrders(_request, context) {
      const outcome = context.requestHeader.get("x-outcome");
      if (outcome === "refuse") throw new ConnectError("admins only", Code.PermissionDenied);
      yield {};
      if (outcome === "explode") throw new Error("the bus exploded at 10.0.0.7");
      await new Promise((resolve) => setTimeout(resolve, 50));
      yield {};
    },
  });
}

/** One stream per outcome; what each caller read, and how its stream ended. */
async function streams(client: ReturnType<typeof createClient<typeof OrderService>>) {
  const ends: Record<string, string> = {};
  for (const outcome of ["complete", "refuse", "explode"]) {
    let read = 0;
    try {
      for await (const _ of client.watchOrders({}, { headers: { "x-outcome": outcome } })) read++;
      ends[outcome] = `${read} messages, then ok`;
    } catch (error) {
      const failure = ConnectError.from(error);
      ends[outcome] = `${read} messages, then ${Code[failure.code]}: ${failure.rawMessage}`;
    }
  }
  return ends;
}

describe("RpcMetrics and reportingFailures on server streams: counted and reported when they end", () => {
  const labels = (code: string) => ({
    service: "ecommerce.orders.v1.OrderService",
    method: "WatchOrders",
    code,
  });

  it("in process, as made and as handled, with the whole life of the stream", async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const metrics = new RpcMetrics(registry);
    const transport = createInProcessTransport(streamRoutes, {
      streamInterceptors: [metrics.inProcessStream],
    });
    await streams(createClient(OrderService, transport));
    const text = await registry.metrics();
    for (const side of ["server", "client"]) {
      for (const code of ["ok", "permission_denied", "internal"])
        expect(sampleValue(text, `rpc_${side}_requests_total`, labels(code)), `${side} ${code}`).toBe(1);
      expect(sampleValue(text, `rpc_${side}_duration_seconds_sum`, labels("ok"))).toBeGreaterThanOrEqual(
        0.045,
      );
    }
  });

  it("over the network: the server counts each by its end, and a plain Error goes out as internal, logged", async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const metrics = new RpcMetrics(registry);
    const log = capturedLog();
    const server = createServer(
      connectNodeAdapter({
        routes: streamRoutes,
        interceptors: [metrics.handled, reportingFailures(log.logger)],
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const ends = await streams(
        createClient(OrderService, createConnectTransport({ baseUrl, httpVersion: "1.1" })),
      );
      expect(ends).toEqual({
        complete: "2 messages, then ok",
        refuse: "0 messages, then PermissionDenied: admins only",
        // Its cause stays in the log: the caller learns nothing internal.
        explode: "1 messages, then Internal: internal error",
      });
      const text = await registry.metrics();
      for (const code of ["ok", "permission_denied", "internal"])
        expect(sampleValue(text, "rpc_server_requests_total", labels(code)), code).toBe(1);
      expect(sampleValue(text, "rpc_server_duration_seconds_sum", labels("ok"))).toBeGreaterThanOrEqual(
        0.045,
      );
      const failures = log.lines.filter(
        (line) => line.operation === "/ecommerce.orders.v1.OrderService/WatchOrders",
      );
      expect(failures).toHaveLength(1);
      expect(JSON.stringify(failures[0])).toContain("the bus exploded");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
