/**
 * Helpers for the event tests only (databases, outbox tables, a private nats-server). Not part of
 * the platform's API.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import net from "node:net";
import path from "node:path";
import { sql } from "drizzle-orm";
import { pgSchema } from "drizzle-orm/pg-core";
import { type Db, openDatabase } from "../../src/platform/db/database.js";
import { defineOutboxTable, type OutboxTable } from "../../src/platform/events/outbox-table.js";
import { createLogger } from "../../src/platform/logger.js";
import { createTestDatabase } from "./test-database.js";

export const silentLogger = createLogger("silent");

export interface TestDatabase {
  db: Db;
  close(): Promise<void>;
}

/** An in-memory PGlite with the migrations applied. */
export async function openTestPglite(): Promise<TestDatabase> {
  const database = await openDatabase({ url: undefined, dataDir: "memory://", logger: silentLogger });
  return { db: database.db, close: () => database.close() };
}

/**
 * A fresh database on the server of `baseUrl`, dropped by `drop()`. `open()` gives independent
 * connection pools to it, as separate processes would have.
 */
export async function createTestPostgresDatabase(baseUrl: string): Promise<{
  url: string;
  open(): Promise<TestDatabase>;
  drop(): Promise<void>;
}> {
  const fresh = await createTestDatabase(baseUrl);
  const opened: TestDatabase[] = [];
  return {
    url: fresh.url,
    async open() {
      const database = await openDatabase({ url: fresh.url, dataDir: "unused", logger: silentLogger });
      const handle = { db: database.db, close: () => database.close() };
      opened.push(handle);
      return handle;
    },
    async drop() {
      await Promise.allSettled(opened.map((database) => database.close()));
      await fresh.drop();
    },
  };
}

/**
 * Creates `<schemaName>.outbox` with the DDL drizzle-kit generates from {@link defineOutboxTable},
 * so the tests also prove that the generated migration works on both drivers.
 */
export async function createOutboxTable(db: Db, schemaName: string): Promise<OutboxTable> {
  const schema = pgSchema(schemaName);
  const table = defineOutboxTable(schema);
  const kit = await import("drizzle-kit/api");
  const statements = await kit.generateMigration(
    kit.generateDrizzleJson({}),
    kit.generateDrizzleJson({ schema, table }),
  );
  for (const statement of statements) await db.execute(sql.raw(statement));
  return table;
}

/** Polls `check` until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

/** The nats-server binary: `$NATS_SERVER_BIN`, `/usr/sbin/nats-server` or the first one on PATH. */
export function findNatsServer(): string | undefined {
  const candidates = [
    process.env.NATS_SERVER_BIN,
    "/usr/sbin/nats-server",
    ...(process.env.PATH ?? "").split(path.delimiter).map((dir) => path.join(dir, "nats-server")),
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Resolves once something accepts TCP connections on the port and sends the NATS INFO line. */
async function waitForNats(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      const finish = (value: boolean) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(500, () => finish(false));
      socket.once("data", (data) => finish(data.toString().startsWith("INFO")));
      socket.once("error", () => finish(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nats-server did not accept connections on ${port} within ${timeoutMs} ms`);
}

export interface NatsServerProcess {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL by default: a crash) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `nats-server -js` on `port` with its store in `storeDir` and waits until it accepts connections. */
export async function startNatsServer(
  binary: string,
  port: number,
  storeDir: string,
): Promise<NatsServerProcess> {
  const child = spawn(binary, ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await waitForNats(port, child, 10_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await Promise.race([exited, sleep(5_000)]);
    },
  };
}
