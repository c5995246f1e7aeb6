/**
 * The admin UI's script and stylesheet, bundled from `client/` by esbuild when the process first
 * needs them (the gateway asks at start, so the first page view does not wait), kept in memory
 * and served under content-hashed names. One path for `npm start`, `npm run dev`, the tests and
 * the image: no build step of its own, no generated files (docs/architecture.md, "Admin UI").
 */
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";

export interface AdminAsset {
  /** `/admin/assets/admin-<hash>.js`: a new name whenever the content changes. */
  readonly path: string;
  readonly body: Uint8Array;
  readonly contentType: string;
  /** Strong ETag of the body. */
  readonly etag: string;
}

export interface AdminAssets {
  readonly script: AdminAsset;
  readonly style: AdminAsset;
}

export const ADMIN_ASSETS_PREFIX = "/admin/assets/";

/**
 * The client's entry point. The path is relative to this file and climbs to the repository root,
 * so it resolves to the same source from `src/admin/` (tsx) and from `dist/admin/` (compiled).
 */
const ENTRY_POINT = fileURLToPath(new URL("../../src/admin/client/main.tsx", import.meta.url));

/** After a failed build, how long visits get the same failure before another build is tried. */
const RETRY_AFTER_FAILURE_MS = 30_000;

/**
 * The bundle, built once per process. A failed build is retried, but not before
 * RETRY_AFTER_FAILURE_MS: visits to /admin must not start one esbuild process each.
 */
export const adminAssets = builtOnce(bundleAdminAssets, RETRY_AFTER_FAILURE_MS);

/**
 * `build`'s result, built on the first call and shared by every later one. A failure is shared
 * too, for `retryAfterMs`; the first call after that builds again.
 */
export function builtOnce<T>(build: () => Promise<T>, retryAfterMs: number): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      setTimeout(() => {
        built = undefined;
      }, retryAfterMs).unref();
      throw error;
    });
    return built;
  };
}

async function bundleAdminAssets(): Promise<AdminAssets> {
  // Loaded here, not at the top: processes that never serve the UI never load esbuild.
  const esbuild = await import("esbuild");
  try {
    const result = await esbuild.build({
      entryPoints: [ENTRY_POINT],
      bundle: true,
      write: false,
      outdir: "/admin-assets",
      minify: true,
      format: "esm",
      // Browsers released since 2021: the ones people run (docs/operations.md, "Admin UI").
      target: ["chrome100", "firefox100", "safari15", "edge100"],
      jsx: "automatic",
      jsxImportSource: "hono/jsx/dom",
      legalComments: "none",
      logLevel: "silent",
    });
    const script = result.outputFiles.find((file) => file.path.endsWith(".js"));
    const style = result.outputFiles.find((file) => file.path.endsWith(".css"));
    if (script === undefined || style === undefined)
      throw new Error("the admin UI bundle has no script or stylesheet");
    return {
      script: asset("js", script.contents, "text/javascript; charset=utf-8"),
      style: asset("css", style.contents, "text/css; charset=utf-8"),
    };
  } finally {
    // esbuild keeps a helper process for further builds; there are none.
    await esbuild.stop();
  }
}

function asset(extension: string, body: Uint8Array, contentType: string): AdminAsset {
  const hash = createHash("sha256").update(body).digest("base64url").slice(0, 16);
  return { path: `${ADMIN_ASSETS_PREFIX}admin-${hash}.${extension}`, body, contentType, etag: `"${hash}"` };
}
