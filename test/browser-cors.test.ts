/**
 * A page on another origin calls the platform from a real browser (headless Chromium) with the
 * generated client, over Connect and over gRPC-Web (@connectrpc/connect-web), and over REST with
 * fetch, when CORS_ORIGINS names that origin; a page on an origin it does not name gets nothing,
 * and changes nothing.
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcessApp, type TestApp } from "./support/test-app.js";

const CHROMIUM = "/usr/bin/chromium";

/** What the page runs: the generated InventoryService client on both browser transports. */
const PAGE_SCRIPT = `
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { InventoryService } from "./src/gen/ecommerce/inventory/v1/inventory_service_pb.js";

window.shop = async (baseUrl, token, name) => {
  const headers = { authorization: "Bearer " + token };
  const connect = createClient(InventoryService, createConnectTransport({ baseUrl }));
  const created = await connect.createProduct({ name, priceCents: 1500n, stock: 3 }, { headers });
  const grpcWeb = createClient(InventoryService, createGrpcWebTransport({ baseUrl }));
  const read = await grpcWeb.getProduct({ id: created.product.id });
  const rest = await fetch(baseUrl + "/products/" + created.product.id);
  return {
    id: read.product.id,
    name: read.product.name,
    restStatus: rest.status,
    restName: (await rest.json()).name,
    requestId: rest.headers.get("x-request-id"),
  };
};
`;

describe.skipIf(!existsSync(CHROMIUM) && process.env.REQUIRE_SERVICES !== "1")(
  "browser clients on other origins (CORS_ORIGINS)",
  () => {
    let script: string;
    const pages: Server[] = [];
    let allowedOrigin: string;
    let otherOrigin: string;
    let app: TestApp;
    let browser: Browser;

    /** A server of one origin: a page that loads the bundled client. */
    async function servePage(): Promise<string> {
      const server = createServer((request, response) => {
        if (request.url === "/client.js") {
          response.writeHead(200, { "content-type": "text/javascript" }).end(script);
          return;
        }
        response.writeHead(200, { "content-type": "text/html" });
        response.end('<!doctype html><title>shop</title><script src="/client.js"></script>');
      });
      pages.push(server);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }

    beforeAll(async () => {
      const bundled = await build({
        stdin: { contents: PAGE_SCRIPT, resolveDir: process.cwd(), loader: "ts" },
        bundle: true,
        format: "iife",
        platform: "browser",
        target: "es2022",
        write: false,
      });
      script = bundled.outputFiles[0]?.text ?? "";
      allowedOrigin = await servePage();
      otherOrigin = await servePage();
      app = await startInProcessApp("embedded", { CORS_ORIGINS: allowedOrigin });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await app?.stop();
      await Promise.all(pages.map((page) => new Promise((resolve) => page.close(resolve))));
    });

    async function shopFrom(origin: string, name: string): Promise<unknown> {
      const page = await browser.newPage();
      try {
        await page.goto(origin);
        await page.waitForFunction(() => "shop" in globalThis);
        return await page.evaluate(
          ([baseUrl, token, productName]) =>
            (globalThis as unknown as { shop(...args: string[]): Promise<unknown> }).shop(
              baseUrl as string,
              token as string,
              productName as string,
            ),
          [app.baseUrl, app.adminToken, name],
        );
      } finally {
        await page.close();
      }
    }

    async function productsNamed(name: string): Promise<number> {
      const response = await fetch(`${app.baseUrl}/products?q=${encodeURIComponent(name)}`);
      return ((await response.json()) as { products: unknown[] }).products.length;
    }

    it("lets a page on a named origin create and read over Connect, gRPC-Web and REST", async () => {
      const result = await shopFrom(allowedOrigin, "Browser mug");
      expect(result).toMatchObject({
        name: "Browser mug",
        restStatus: 200,
        restName: "Browser mug",
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(await productsNamed("Browser mug")).toBe(1);
    });

    it("gives a page on any other origin nothing, and lets it change nothing", async () => {
      await expect(shopFrom(otherOrigin, "Foreign mug")).rejects.toThrow(/fetch/i);
      expect(await productsNamed("Foreign mug")).toBe(0);
    });

    it("answers a preflight from a named origin with what Connect and gRPC-Web send", async () => {
      const response = await fetch(`${app.baseUrl}/ecommerce.inventory.v1.InventoryService/CreateProduct`, {
        method: "OPTIONS",
        headers: {
          origin: allowedOrigin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type, connect-protocol-version",
        },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get("access-control-allow-origin")).toBe(allowedOrigin);
      const allowed = (response.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(", ");
      for (const header of ["authorization", "content-type", "connect-protocol-version", "x-grpc-web"]) {
        expect(allowed).toContain(header);
      }
      const foreign = await fetch(`${app.baseUrl}/products`, {
        method: "OPTIONS",
        headers: { origin: otherOrigin, "access-control-request-method": "POST" },
      });
      expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    });
  },
);
