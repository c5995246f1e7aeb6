/**
 * The product read shortcut answers GET /products/:id before Hono: these hold it to exactly what
 * the Hono route answers (status, headers that matter, body) for every outcome of the call, and
 * to leaving alone every request it must not answer.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturedLog } from "../../test/support/captured-log.js";
import { InventoryService } from "../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { ProductSchema } from "../gen/ecommerce/inventory/v1/product_pb.js";
import { createMetricsRegistry } from "../platform/metrics.js";
import { observeRequests } from "../platform/observability/index.js";
import type { RequestListener } from "../platform/server/request-listener.js";
import { createInProcessTransport } from "../platform/transport/in-process-transport.js";
import { createGatewayApp, type GatewayClients } from "./gateway-app.js";
import { productReadShortcut, shortcutProductId } from "./product-read-shortcut.js";
import { restListener } from "./rest-listener.js";

const FOUND = "0190c0de-0000-7000-8000-000000000001";

/** GetProduct calls that reached the stand-in inventory. */
let inventoryCalls = 0;

/** GetProduct with one outcome per id, and an "admin-only" token refused as unauthenticated. */
function routes(router: ConnectRouter): void {
  router.service(InventoryService, {
    getProduct(request, context) {
      inventoryCalls++;
      if (context.requestHeader.get("authorization") === "Bearer stolen") {
        throw new ConnectError("invalid token", Code.Unauthenticated);
      }
      switch (request.id) {
        case FOUND:
          return { product: { id: FOUND, name: "Espresso cup", priceCents: 1299n, stock: 25 } };
        case "down":
          throw new ConnectError("database unreachable", Code.Unavailable);
        case "boom":
          throw new Error("the database exploded: secret detail");
        case "empty":
          return {};
        default:
          throw new ConnectError(`product ${request.id} not found`, Code.NotFound);
      }
    },
  });
}

const inventory = createClient(InventoryService, createInProcessTransport(routes));
const shortcutLog = capturedLog();
const honoLog = capturedLog();
const app = createGatewayApp({
  clients: { inventory } as unknown as GatewayClients,
  readiness: [],
  draining: () => false,
  stopping: new AbortController().signal,
  metrics: createMetricsRegistry({ defaultMetrics: false }),
  logger: honoLog.logger,
  maxBodyBytes: 1024,
  storeCurrency: "USD",
});
const shortcut = productReadShortcut(inventory, shortcutLog.logger);
/** The gateway's edge copy, holding the found product (as inventory answers it). */
const copied = create(ProductSchema, { id: FOUND, name: "Espresso cup", priceCents: 1299n, stock: 25 });
const withCopy = productReadShortcut(inventory, shortcutLog.logger, (id) =>
  id === FOUND ? copied : undefined,
);
let copyUrl: string;
const servers: Server[] = [];
let baseUrl: string;
/** The same app's REST listener without the shortcut: the Hono route as the one port serves it. */
let honoUrl: string;

/** Served as the one port serves the REST side: with the request's context attached. */
async function serve(listener: RequestListener): Promise<string> {
  const server = createServer(
    observeRequests(listener, { logger: capturedLog("warn").logger, routeOf: () => "", isRpc: () => false }),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  // What the shortcut leaves alone is answered 599 here, so every other answer is its own.
  baseUrl = await serve((request, response) => {
    if (!shortcut(request, response)) response.writeHead(599).end();
  });
  honoUrl = await serve(restListener(app, { maxBodyBytes: 1024 }));
  copyUrl = await serve((request, response) => {
    if (!withCopy(request, response)) response.writeHead(599).end();
  });
});
afterAll(() =>
  Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))),
);

interface Answer {
  status: number;
  contentType: string | null;
  requestId: string | null;
  retryAfter: string | null;
  body: unknown;
}

async function answerOf(response: Response): Promise<Answer> {
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    requestId: response.headers.get("x-request-id"),
    retryAfter: response.headers.get("retry-after"),
    body: await response.json(),
  };
}

describe("product read shortcut", () => {
  it.each([
    { what: "a product", path: `/products/${FOUND}` },
    { what: "a product, the query ignored", path: `/products/${FOUND}?fields=all` },
    { what: "not found", path: "/products/0190c0de-0000-7000-8000-00000000dead" },
    { what: "unavailable (with Retry-After)", path: "/products/down" },
    { what: "an internal failure (details kept back)", path: "/products/boom" },
    { what: "a module that answered no product", path: "/products/empty" },
    { what: "a refused token", path: `/products/${FOUND}`, authorization: "Bearer stolen" },
  ])("answers $what exactly as the Hono route does", async ({ path, authorization }) => {
    const headers: Record<string, string> = { "x-request-id": "same-request" };
    if (authorization !== undefined) headers.authorization = authorization;
    const ours = await answerOf(await fetch(baseUrl + path, { headers }));
    const hono = await answerOf(await fetch(honoUrl + path, { headers }));
    expect(ours.status).not.toBe(599);
    expect(ours).toEqual(hono);
    expect(ours.requestId).toBe("same-request");
  });

  it("answers an anonymous read of a copied product from the copy, exactly as the Hono route does", async () => {
    const headers = { "x-request-id": "copied-1" };
    const before = inventoryCalls;
    const ours = await answerOf(await fetch(`${copyUrl}/products/${FOUND}`, { headers }));
    expect(inventoryCalls).toBe(before);
    const hono = await answerOf(await fetch(`${honoUrl}/products/${FOUND}`, { headers }));
    expect(ours).toEqual(hono);
    expect(ours.requestId).toBe("copied-1");
  });

  it("with a copy, still asks inventory for a read with a token and for what the copy lacks", async () => {
    const before = inventoryCalls;
    const refused = await fetch(`${copyUrl}/products/${FOUND}`, {
      headers: { authorization: "Bearer stolen" },
    });
    expect(refused.status).toBe(401);
    await refused.arrayBuffer();
    const missing = await fetch(`${copyUrl}/products/0190c0de-0000-7000-8000-00000000dead`);
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
    expect(inventoryCalls).toBe(before + 2);
  });

  it("logs an internal failure once, with the request id, and sends nothing of it", async () => {
    const before = shortcutLog.lines.length;
    const response = await fetch(`${baseUrl}/products/boom`, { headers: { "x-request-id": "boom-1" } });
    const body = await response.text();
    expect(response.status).toBe(500);
    expect(body).not.toContain("secret detail");
    const logged = shortcutLog.lines.slice(before);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, requestId: "boom-1", operation: "GET /products/:id" });
  });

  it("leaves HEAD, other methods, escaped ids and other paths to Hono", async () => {
    for (const [method, path] of [
      ["HEAD", `/products/${FOUND}`],
      ["DELETE", `/products/${FOUND}`],
      ["GET", "/products/caf%C3%A9"],
      ["GET", "/products/"],
      ["GET", `/products/${FOUND}/reviews`],
      ["GET", "/products"],
      ["GET", "/productsX/1"],
    ] as const) {
      const response = await fetch(baseUrl + path, { method });
      await response.arrayBuffer();
      expect(response.status, `${method} ${path}`).toBe(599);
    }
  });

  it("takes the id as Hono's route would: the segment after /products/, without the query", () => {
    expect(shortcutProductId("GET", "/products/abc")).toBe("abc");
    expect(shortcutProductId("GET", "/products/abc?x=/1")).toBe("abc");
    expect(shortcutProductId("GET", "/products/?x=1")).toBeUndefined();
    expect(shortcutProductId("GET", "/products/a/b")).toBeUndefined();
    expect(shortcutProductId("POST", "/products/abc")).toBeUndefined();
    expect(shortcutProductId(undefined, "/products/abc")).toBeUndefined();
  });
});
