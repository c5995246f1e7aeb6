/**
 * `npm start` with no configuration: the embedded PostgreSQL server under DATA_DIR, printed URL and
 * tokens, clean stop on SIGTERM / SIGINT (the database server with it), data that survives a
 * restart, and a database server a killed run left behind stopped by the next start.
 */
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isAlive, runningServerPid } from "../src/platform/db/embedded-postgres.js";
import { runChildToExit, startChildApp } from "./support/child-app.js";

const dataDir = mkdtempSync(path.join(tmpdir(), "embedded-"));
// Below Linux's ephemeral range (32768–60999): between the stop and the restart, an outgoing
// connection (the suites' PostgreSQL clients, say) could otherwise be given this port.
const port = 20_000 + Math.floor(Math.random() * 12_000);
// Nothing configured, whatever this test run itself was given.
const nothing = { DATABASE_URL: "", NATS_URL: "", REDIS_URL: "", JWT_SECRET: "" };
const env = { ...nothing, DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1" };

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Whether every directory down to `dir` lets other users through. */
function readableByOthers(dir: string): boolean {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if ((statSync(at).mode & 0o005) !== 0o005) return false;
    if (path.dirname(at) === at) return true;
  }
}

describe("npm start with embedded defaults", () => {
  it("prints the URL, the docs URL and working tokens, keeps data across a restart, and stops cleanly", async () => {
    const first = await startChildApp(env);
    expect(runningServerPid(dataDir)).toBeDefined();
    const printed = first.output();
    expect(printed).toContain(`http://127.0.0.1:${port}`);
    expect(printed).toContain(`http://127.0.0.1:${port}/docs`);
    const admin = /admin token:\s+(\S+)/.exec(printed)?.[1];
    const customer = /customer token:\s+(\S+)/.exec(printed)?.[1];
    expect(admin).toBeDefined();
    expect(customer).toBeDefined();

    const base = `http://127.0.0.1:${port}`;
    const asCustomer = await fetch(`${base}/products`, {
      method: "POST",
      headers: { authorization: `Bearer ${customer}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Mug", price_cents: 900, stock: 3 }),
    });
    expect(asCustomer.status).toBe(403);
    const created = await fetch(`${base}/products`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Mug", price_cents: 900, stock: 3 }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };

    const firstStop = await first.stop("SIGTERM");
    if (firstStop.code !== 0) console.log(first.output());
    expect(firstStop.code).toBe(0);
    expect(firstStop.elapsedMs).toBeLessThan(10_000);
    expect(runningServerPid(dataDir)).toBeUndefined();

    // The secret was kept in DATA_DIR, so the first run's admin token still works.
    const second = await startChildApp(env);
    const read = await fetch(`${base}/products/${id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id, name: "Mug", price_cents: 900, stock: 3 });
    const update = await fetch(`${base}/products/${id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ stock: 4 }),
    });
    expect(update.status).toBe(200);
    const secondStop = await second.stop("SIGINT");
    expect(secondStop.code).toBe(0);
    expect(runningServerPid(dataDir)).toBeUndefined();
  }, 120_000);

  it("stops the database server a killed run left running, and starts on the same data", async () => {
    const killedDir = mkdtempSync(path.join(tmpdir(), "embedded-killed-"));
    const killedEnv = { ...env, DATA_DIR: killedDir };
    try {
      const first = await startChildApp(killedEnv);
      const admin = /admin token:\s+(\S+)/.exec(first.output())?.[1];
      const created = await fetch(`${first.url}/products`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "Teapot", price_cents: 2500, stock: 1 }),
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      await first.stop("SIGKILL");
      const leftover = runningServerPid(killedDir);
      expect(leftover).toBeDefined();

      const second = await startChildApp(killedEnv);
      expect(second.output() + second.errors()).toContain("stopping the server an earlier run left running");
      expect(isAlive(leftover as number)).toBe(false);
      const read = await fetch(`${second.url}/products/${id}`);
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({ id, name: "Teapot" });
      expect((await second.stop("SIGTERM")).code).toBe(0);
      expect(runningServerPid(killedDir)).toBeUndefined();
    } finally {
      rmSync(killedDir, { recursive: true, force: true });
    }
  }, 120_000);

  it("stops the database server when the platform crashes", async () => {
    const crashDir = mkdtempSync(path.join(tmpdir(), "embedded-crash-"));
    try {
      const { code, stdout } = await runChildToExit({}, "test/support/crashing-embedded-server.ts", [
        crashDir,
      ]);
      expect(code).not.toBe(0);
      const server = Number(/server (\d+)/.exec(stdout)?.[1]);
      expect(server).toBeGreaterThan(0);
      // The platform's exit asked for a fast shutdown; the server finishes it on its own.
      const deadline = Date.now() + 10_000;
      while (isAlive(server) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(isAlive(server)).toBe(false);
    } finally {
      rmSync(crashDir, { recursive: true, force: true });
    }
  }, 60_000);

  // As root (CI) the server runs as the postgres user, which the tests above prove; this proves the
  // laptop's and the Docker image's case, an ordinary user, from root by becoming one.
  // (Only where another user can read this checkout: not a clone under /root, say.)
  it.skipIf(process.getuid?.() !== 0 || !readableByOthers(process.cwd()))(
    "runs as an ordinary user, the server as that user too",
    async () => {
      const NOBODY = 65534;
      const userDir = mkdtempSync(path.join(tmpdir(), "embedded-user-"));
      chownSync(userDir, NOBODY, NOBODY);
      const env = { ...nothing, DATA_DIR: userDir, PORT: "0", HOST: "127.0.0.1", HOME: userDir };
      const app = await startChildApp(env, /listening on/, "src/main.ts", { uid: NOBODY, gid: NOBODY });
      try {
        expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
        const server = runningServerPid(userDir) as number;
        expect(readFileSync(`/proc/${server}/status`, "utf8")).toMatch(
          new RegExp(`^Uid:\\s+${NOBODY}\\s`, "m"),
        );
        expect((await app.stop("SIGTERM")).code).toBe(0);
        expect(runningServerPid(userDir)).toBeUndefined();
      } finally {
        await app.stop("SIGKILL");
        rmSync(userDir, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it("refuses a cluster of another PostgreSQL major version, and a DATA_DIR another platform runs on", async () => {
    const otherDir = mkdtempSync(path.join(tmpdir(), "embedded-other-"));
    try {
      mkdirSync(path.join(otherDir, "postgres"));
      writeFileSync(path.join(otherDir, "postgres", "PG_VERSION"), "16\n");
      const older = await runChildToExit({ ...env, DATA_DIR: otherDir });
      expect(older.code).toBe(1);
      expect(older.stderr.trim().split("\n")).toHaveLength(1);
      expect(older.stderr).toContain("PostgreSQL 16 cluster");

      rmSync(path.join(otherDir, "postgres"), { recursive: true });
      const running = await startChildApp({ ...env, DATA_DIR: otherDir, PORT: "0" });
      try {
        const second = await runChildToExit({ ...env, DATA_DIR: otherDir, PORT: "0" });
        expect(second.code).toBe(1);
        expect(second.stderr).toContain(`in use by process ${running.process.pid}`);
        // The first one's server was left alone.
        expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
      } finally {
        await running.stop("SIGTERM");
      }
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  }, 60_000);

  it("refuses a DATA_DIR an earlier version wrote with PGlite, in one line saying what to do", async () => {
    const earlierDir = mkdtempSync(path.join(tmpdir(), "embedded-earlier-"));
    try {
      mkdirSync(path.join(earlierDir, "pgdata"));
      const { code, stderr } = await runChildToExit({ ...env, DATA_DIR: earlierDir });
      expect(code).toBe(1);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr).toContain("PGlite");
      expect(stderr).toContain("move it out of DATA_DIR");
      expect(existsSync(path.join(earlierDir, "postgres"))).toBe(false);
    } finally {
      rmSync(earlierDir, { recursive: true, force: true });
    }
  });

  it("refuses an invalid setting with one line naming the variable", async () => {
    const { code, stderr } = await runChildToExit({ ...env, PORT: "eighty" });
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("PORT");
  });
});
