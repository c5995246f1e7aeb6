/**
 * GET /admin: the shop's admin UI, a page that signs in with a bearer token and then talks to the
 * platform only through the public REST API, from the browser — so it works unchanged whichever
 * process hosts which module. The page and its two assets are all the server side there is
 * (docs/architecture.md, "Admin UI").
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ADMIN_ASSETS_PREFIX, type AdminAsset, type AdminAssets, adminAssets } from "./admin-assets.js";

/**
 * The page may run nothing but its own script and talk to nothing but this origin: a token kept in
 * sessionStorage is only as safe as the page is from injected script.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  // The page names the current assets, so it is revalidated; the assets never change under a name.
  "cache-control": "no-cache",
};

export interface AdminRouteOptions {
  /** STORE_CURRENCY (an ISO 4217 code, checked by the configuration): how amounts are shown. */
  currency: string;
}

export function registerAdminRoutes(app: OpenAPIHono, options: AdminRouteOptions): void {
  const page = async (c: Context) => {
    const assets = await adminAssets();
    return c.html(adminPage(assets, options.currency), 200, PAGE_HEADERS);
  };
  app.get("/admin", page);
  app.get("/admin/", page);
  app.get(`${ADMIN_ASSETS_PREFIX}:name`, async (c) => {
    const { script, style } = await adminAssets();
    const found = [script, style].find((asset) => asset.path === c.req.path);
    if (found === undefined) return c.notFound();
    return serveAsset(c, found);
  });
}

function serveAsset(c: Context, asset: AdminAsset): Response {
  const headers = {
    "content-type": asset.contentType,
    "cache-control": "public, max-age=31536000, immutable",
    etag: asset.etag,
    "x-content-type-options": "nosniff",
  };
  if (alreadyHas(c.req.header("if-none-match"), asset.etag)) return c.body(null, 304, headers);
  return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, headers);
}

/** RFC 9110 If-None-Match: `*`, or a list of tags compared weakly (a `W/` prefix does not count). */
function alreadyHas(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(",").some((tag) => {
    const trimmed = tag.trim();
    return trimmed === "*" || trimmed.replace(/^W\//, "") === etag;
  });
}

function adminPage({ script, style }: AdminAssets, currency: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <meta name="store-currency" content="${currency}" />
  <title>Shop admin</title>
  <link rel="icon" href="data:," />
  <link rel="stylesheet" href="${style.path}" />
  <script type="module" src="${script.path}"></script>
</head>
<body>
  <div id="app"><p class="booting">Loading…</p></div>
  <noscript>The admin UI needs JavaScript.</noscript>
</body>
</html>`;
}
