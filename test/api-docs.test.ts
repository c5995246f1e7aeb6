/**
 * The API reference: /openapi.json is OpenAPI 3.1 and documents every REST route, and /docs is an
 * interactive reference that renders and works in a real browser with everything served by the
 * app itself (no CDN, so it works with no internet). Embedded set-up only: the documents do not
 * depend on the services behind them.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpCall } from "./support/http-call.js";
import { availableSetups, startTestApp, type TestApp } from "./support/test-app.js";

const CHROMIUM = "/usr/bin/chromium";

/** Every REST route the app serves today, with its methods. */
const ROUTES: Record<string, string[]> = {
  "/products": ["get", "post"],
  "/products/{id}": ["get", "put", "patch", "delete"],
  "/healthz": ["get"],
  "/readyz": ["get"],
  "/metrics": ["get"],
};

interface OpenApiOperation {
  parameters?: { name: string; in: string }[];
  responses?: Record<string, { content?: Record<string, unknown> }>;
  security?: Record<string, unknown>[];
}

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: {
    schemas?: Record<string, { properties?: Record<string, { type?: string }>; required?: string[] }>;
    securitySchemes?: Record<string, { type: string; scheme?: string }>;
  };
}

describe.each(availableSetups().filter((setup) => setup === "embedded"))("API reference (%s)", (setup) => {
  let app: TestApp;
  let openApi: OpenApiDocument;

  beforeAll(async () => {
    app = await startTestApp(setup);
    const result = await httpCall(app.baseUrl, "GET", "/openapi.json");
    expect(result.status).toBe(200);
    expect(result.headers.get("content-type")).toMatch(/^application\/json\b/);
    openApi = result.body as OpenApiDocument;
  });
  afterAll(async () => {
    await app?.stop();
  });

  describe("GET /openapi.json", () => {
    it("is OpenAPI 3.1 with a title and version", () => {
      expect(openApi.openapi).toMatch(/^3\.1(\.\d+)?$/);
      expect(openApi.info.title).not.toBe("");
      expect(openApi.info.version).not.toBe("");
    });

    it.each(Object.entries(ROUTES))("documents %s with %j", (path, methods) => {
      expect(Object.keys(openApi.paths)).toContain(path);
      const operations = openApi.paths[path] ?? {};
      for (const method of methods)
        expect(operations, `${method.toUpperCase()} ${path}`).toHaveProperty(method);
    });

    it("documents the list filters and paging of GET /products", () => {
      const parameters = openApi.paths["/products"]?.get?.parameters ?? [];
      const query = parameters
        .filter((parameter) => parameter.in === "query")
        .map((parameter) => parameter.name);
      expect(query.sort()).toEqual(
        ["category", "in_stock", "max_price_cents", "min_price_cents", "page_size", "page_token", "q"].sort(),
      );
      const id = openApi.paths["/products/{id}"]?.get?.parameters?.find(
        (parameter) => parameter.in === "path",
      );
      expect(id?.name).toBe("id");
    });

    it("documents the product with integer money and bearer auth on the writes", () => {
      const product = openApi.components?.schemas?.Product;
      expect(product?.properties?.price_cents?.type).toBe("integer");
      expect(product?.required?.sort()).toEqual(
        ["category", "created_at", "description", "id", "name", "price_cents", "stock", "updated_at"].sort(),
      );
      expect(openApi.components?.securitySchemes?.bearerAuth).toMatchObject({
        type: "http",
        scheme: "bearer",
      });
      const writes = [
        openApi.paths["/products"]?.post,
        openApi.paths["/products/{id}"]?.put,
        openApi.paths["/products/{id}"]?.patch,
        openApi.paths["/products/{id}"]?.delete,
      ];
      for (const operation of writes) {
        expect(operation?.security).toEqual([{ bearerAuth: [] }]);
        expect(Object.keys(operation?.responses ?? {})).toEqual(expect.arrayContaining(["401", "403"]));
        expect(operation?.responses?.["401"]?.content).toHaveProperty(["application/problem+json"]);
      }
    });

    it("documents the success and error statuses of the product routes", () => {
      const statuses = (path: string, method: string) =>
        Object.keys(openApi.paths[path]?.[method]?.responses ?? {});
      expect(statuses("/products", "post")).toEqual(expect.arrayContaining(["201", "400"]));
      expect(statuses("/products", "get")).toEqual(expect.arrayContaining(["200", "400"]));
      expect(statuses("/products/{id}", "get")).toEqual(expect.arrayContaining(["200", "404"]));
      expect(statuses("/products/{id}", "put")).toEqual(expect.arrayContaining(["200", "400", "404"]));
      expect(statuses("/products/{id}", "patch")).toEqual(expect.arrayContaining(["200", "400", "404"]));
      expect(statuses("/products/{id}", "delete")).toEqual(expect.arrayContaining(["204", "404"]));
    });
  });

  // Skipped only on a developer machine without Chromium; CI (REQUIRE_SERVICES=1) installs it and never skips.
  describe.skipIf(!existsSync(CHROMIUM) && process.env.REQUIRE_SERVICES !== "1")(
    "GET /docs in headless Chromium",
    () => {
      let browser: Browser;

      beforeAll(async () => {
        browser = await chromium.launch({
          executablePath: CHROMIUM,
          args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
      });
      afterAll(async () => {
        await browser?.close();
      });

      it("renders every product operation, loading everything from the app's own origin", async () => {
        const page = await browser.newPage();
        const requests: string[] = [];
        const failures: string[] = [];
        page.on("request", (request) => requests.push(request.url()));
        page.on("requestfailed", (request) =>
          failures.push(`${request.url()}: ${request.failure()?.errorText}`),
        );
        page.on("response", (response) => {
          if (response.status() >= 400) failures.push(`${response.url()}: ${response.status()}`);
        });
        try {
          const response = await page.goto(`${app.baseUrl}/docs`);
          expect(response?.status()).toBe(200);
          expect(response?.headers()["content-type"]).toMatch(/^text\/html\b/);
          // Some renderers break long paths with zero-width spaces; compare without them.
          const renderedText = async () => (await page.locator("body").innerText()).replace(/\u200b/g, "");
          await expect.poll(renderedText, { timeout: 20_000 }).toContain("/products/{id}");
          const text = await renderedText();
          expect(text.split("/products/{id}").length - 1).toBeGreaterThanOrEqual(4);
          for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) expect(text).toContain(method);
          for (const path of ["/healthz", "/readyz", "/metrics"]) expect(text).toContain(path);

          const origin = new URL(app.baseUrl).origin;
          const network = requests.filter((url) => /^(https?|wss?):/.test(url));
          expect(network).toContain(`${origin}/openapi.json`);
          expect(network.filter((url) => new URL(url).origin !== origin)).toEqual([]);
          expect(failures).toEqual([]);
        } finally {
          await page.close();
        }
      });

      it("can run a request from the page (Try it out → Execute on GET /products)", async () => {
        const page = await browser.newPage();
        const requests: string[] = [];
        page.on("request", (request) => requests.push(request.url()));
        try {
          await page.goto(`${app.baseUrl}/docs`);
          const operation = page.locator(".opblock").filter({ hasText: "List products" });
          await operation.getByText("List products").click();
          await operation.getByRole("button", { name: "Try it out" }).click();
          await operation.getByRole("button", { name: "Execute" }).click();
          const status = operation
            .locator(".live-responses-table .response-col_status")
            .filter({ hasText: /^\d{3}$/ });
          await status.first().waitFor({ timeout: 20_000 });
          expect((await status.first().innerText()).trim()).toBe("200");
          expect(requests).toContain(`${new URL(app.baseUrl).origin}/products`);
          expect(
            requests.filter(
              (url) => /^(https?|wss?):/.test(url) && new URL(url).origin !== new URL(app.baseUrl).origin,
            ),
          ).toEqual([]);
        } finally {
          await page.close();
        }
      });
    },
  );
});
