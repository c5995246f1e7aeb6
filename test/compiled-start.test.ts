/**
 * `npm start` runs the compiled JavaScript (its prestart builds it; the Docker image runs the same
 * `node dist/main.js`): the build succeeds and the compiled platform serves with nothing
 * configured, on its embedded PostgreSQL, with its admin UI, and stops cleanly.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startChildApp } from "./support/child-app.js";

const dataDir = mkdtempSync(path.join(tmpdir(), "compiled-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("npm start (compiled)", () => {
  it("builds, then serves from dist/ with nothing configured and stops cleanly", async () => {
    execFileSync("npm", ["run", "build", "--silent"], { stdio: "pipe" });
    const env = {
      DATABASE_URL: "",
      NATS_URL: "",
      REDIS_URL: "",
      JWT_SECRET: "",
      DATA_DIR: dataDir,
      PORT: "0",
    };
    const app = await startChildApp(env, /listening on/, "dist/main.js");
    try {
      const admin = /admin token:\s+(\S+)/.exec(app.output())?.[1];
      const created = await fetch(`${app.url}/products`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "Kettle", price_cents: 3900, stock: 2 }),
      });
      expect(created.status).toBe(201);
      expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
      // The admin UI's browser code is bundled from src/admin/client by the compiled server too.
      const page = await (await fetch(`${app.url}/admin`)).text();
      const script = /src="(\/admin\/assets\/admin-[\w-]+\.js)"/.exec(page)?.[1];
      expect(script).toBeDefined();
      const bundle = await fetch(`${app.url}${script}`);
      expect(bundle.status).toBe(200);
      expect((await bundle.text()).length).toBeGreaterThan(1000);
    } finally {
      expect((await app.stop("SIGTERM")).code).toBe(0);
    }
  }, 120_000);
});
