/**
 * GET /admin and its assets without a browser: the page names content-hashed assets, the assets
 * are cached for good and revalidate by ETag, and the page may load nothing from anywhere else.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { beforeAll, describe, expect, it } from "vitest";
import { registerAdminRoutes } from "./admin-routes.js";

const app = new OpenAPIHono();
registerAdminRoutes(app, { currency: "EUR" });

let page: Response;
let html: string;

beforeAll(async () => {
  page = await app.request("/admin");
  html = await page.text();
}, 30_000);

function assetPaths(): string[] {
  return [...html.matchAll(/(?:src|href)="(\/admin\/assets\/[^"]+)"/g)].map((match) => match[1] as string);
}

describe("GET /admin", () => {
  it("serves the page, revalidated on every visit, naming the store's currency", () => {
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(html).toContain('<meta name="store-currency" content="EUR" />');
  });

  it("lets the page run only its own script and reach only its own origin", () => {
    const policy = page.headers.get("content-security-policy") ?? "";
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain("unsafe-inline");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    // No inline script: everything the page runs is the hashed bundle.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it("names a script and a stylesheet by the hash of their content", () => {
    const paths = assetPaths();
    expect(paths).toEqual([
      expect.stringMatching(/^\/admin\/assets\/admin-[\w-]{16}\.css$/),
      expect.stringMatching(/^\/admin\/assets\/admin-[\w-]{16}\.js$/),
    ]);
  });

  it("serves each asset for a year, and 304 when the browser already has it", async () => {
    for (const path of assetPaths()) {
      const asset = await app.request(path);
      expect(asset.status).toBe(200);
      expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(asset.headers.get("content-type")).toMatch(
        path.endsWith(".js") ? /^text\/javascript/ : /^text\/css/,
      );
      const etag = asset.headers.get("etag") ?? "";
      expect(etag).toMatch(/^"[\w-]{16}"$/);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(1000);
      const again = await app.request(path, { headers: { "if-none-match": etag } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe("");
      // As caches send it too: weak, in a list, or any.
      for (const header of [`W/${etag}`, `"other", ${etag}`, "*"]) {
        expect((await app.request(path, { headers: { "if-none-match": header } })).status, header).toBe(304);
      }
      expect((await app.request(path, { headers: { "if-none-match": '"other"' } })).status).toBe(200);
    }
  });

  it("answers 404 for an asset name it does not have", async () => {
    const missing = await app.request("/admin/assets/admin-0000000000000000.js");
    expect(missing.status).toBe(404);
  });

  it("bundles the browser code small: Hono's JSX runtime and the views, minified", async () => {
    const script = assetPaths().find((path) => path.endsWith(".js")) as string;
    const size = (await (await app.request(script)).arrayBuffer()).byteLength;
    expect(size).toBeLessThan(120_000);
  });
});
