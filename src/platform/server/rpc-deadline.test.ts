/**
 * The deadline cap of served calls (rpc-deadline.ts): the grpc-timeout parser, then the cap as
 * Connect and gRPC handlers behind the one-port server see it.
 */
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InventoryService } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { ProductSchema } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import { listenOnePort, type OnePortServer } from "./one-port-server.js";
import { capRpcDeadline, parseGrpcTimeout } from "./rpc-deadline.js";

const MAX_MS = 5_000;

describe("parseGrpcTimeout", () => {
  it.each([
    ["1H", 3_600_000],
    ["2M", 120_000],
    ["3S", 3_000],
    ["250m", 250],
    ["5000u", 5],
    ["7000000n", 7],
  ])("%s is %d ms", (value, ms) => {
    expect(parseGrpcTimeout(value)).toBe(ms);
  });

  it.each([undefined, "", "10", "123456789S", "1.5S", "-1S", "10s"])("refuses %j", (value) => {
    expect(parseGrpcTimeout(value)).toBeUndefined();
  });
});

describe("capRpcDeadline (connect-node behind the one-port server)", () => {
  let server: OnePortServer;
  let baseUrl: string;

  beforeAll(async () => {
    // A service that answers with the deadline its handler was given, as the product's name.
    const routes = (router: Parameters<NonNullable<Parameters<typeof connectNodeAdapter>[0]["routes"]>>[0]) =>
      router.service(InventoryService, {
        getProduct: (_request, context) => ({
          product: create(ProductSchema, { id: "p", name: String(context.timeoutMs() ?? "none") }),
        }),
      });
    server = await listenOnePort({
      port: 0,
      host: "127.0.0.1",
      listener: capRpcDeadline(connectNodeAdapter({ routes }), MAX_MS),
    });
    baseUrl = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.close(100);
  });

  const deadlineSeen = async (protocol: "connect" | "grpc", timeoutMs: number | undefined) => {
    const transport =
      protocol === "connect"
        ? createConnectTransport({ baseUrl, httpVersion: "1.1" })
        : createGrpcTransport({ baseUrl });
    const { product } = await createClient(InventoryService, transport).getProduct(
      { id: "p" },
      { timeoutMs },
    );
    return Number(product?.name);
  };

  it.each(["connect", "grpc"] as const)("%s: no deadline becomes the maximum", async (protocol) => {
    const seen = await deadlineSeen(protocol, undefined);
    expect(seen).toBeGreaterThan(MAX_MS - 1_000);
    expect(seen).toBeLessThanOrEqual(MAX_MS);
  });

  it.each(["connect", "grpc"] as const)("%s: an hour is capped to the maximum", async (protocol) => {
    const seen = await deadlineSeen(protocol, 3_600_000);
    expect(seen).toBeGreaterThan(MAX_MS - 1_000);
    expect(seen).toBeLessThanOrEqual(MAX_MS);
  });

  it.each(["connect", "grpc"] as const)("%s: a shorter deadline is honoured", async (protocol) => {
    const seen = await deadlineSeen(protocol, 2_000);
    expect(seen).toBeGreaterThan(1_000);
    expect(seen).toBeLessThanOrEqual(2_000);
  });
});

describe("capRpcDeadline with a cap of its own for some paths (server streams)", () => {
  const LONGER_MS = 60_000;
  let server: OnePortServer;
  let baseUrl: string;

  beforeAll(async () => {
    // Two methods that answer with the deadline their handler was given; only GetProduct has a
    // longer cap, as a server stream would.
    const product = (timeoutMs: number | undefined) => ({
      product: create(ProductSchema, { id: "p", name: String(timeoutMs ?? "none") }),
    });
    const routes = (router: Parameters<NonNullable<Parameters<typeof connectNodeAdapter>[0]["routes"]>>[0]) =>
      router.service(InventoryService, {
        getProduct: (_request, context) => product(context.timeoutMs()),
        updateProduct: (_request, context) => product(context.timeoutMs()),
      });
    const byPath = new Map([[`/${InventoryService.typeName}/GetProduct`, LONGER_MS]]);
    server = await listenOnePort({
      port: 0,
      host: "127.0.0.1",
      listener: capRpcDeadline(connectNodeAdapter({ routes }), MAX_MS, { byPath }),
    });
    baseUrl = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.close(100);
  });

  it.each(["connect", "grpc"] as const)("%s: the path's own cap applies to it alone", async (protocol) => {
    const transport =
      protocol === "connect"
        ? createConnectTransport({ baseUrl, httpVersion: "1.1" })
        : createGrpcTransport({ baseUrl });
    const client = createClient(InventoryService, transport);
    const seen = async (call: Promise<{ product?: { name: string } }>) => Number((await call).product?.name);

    for (const timeoutMs of [undefined, 3_600_000]) {
      const longer = await seen(client.getProduct({ id: "p" }, { timeoutMs }));
      expect(longer).toBeGreaterThan(LONGER_MS - 1_000);
      expect(longer).toBeLessThanOrEqual(LONGER_MS);
      const usual = await seen(client.updateProduct({ id: "p" }, { timeoutMs }));
      expect(usual).toBeGreaterThan(MAX_MS - 1_000);
      expect(usual).toBeLessThanOrEqual(MAX_MS);
    }
    const shorter = await seen(client.getProduct({ id: "p" }, { timeoutMs: 2_000 }));
    expect(shorter).toBeLessThanOrEqual(2_000);
  });
});
