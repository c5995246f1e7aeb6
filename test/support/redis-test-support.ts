/**
 * Test support for the RedisStore suites (not a test file itself): the machine's Redis
 * (REDIS_URL), a redis-server of the suite's own to kill or freeze, item caches over a store, and
 * a watch for unhandled rejections. What the suites prove: docs/cache-protocol.md, "(d)".
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createConnection, createServer } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, vi } from "vitest";
import { LayeredCache } from "../../src/platform/cache/layered-cache.js";
import type { RedisStore } from "../../src/platform/cache/redis-store.js";
import { codec, type Item, sleep } from "./cache-test-support.js";

export const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
/** The machine's shared Redis; the suites that need a Redis are skipped without it. */
export const REDIS_URL = process.env.REDIS_URL;
const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? "/usr/bin/redis-server";

export const uniqueNamespace = () => `test-cache-${randomBytes(6).toString("hex")}`;

export function itemCache(store: RedisStore, rows: Map<string, Item>, readThroughL2 = false) {
  const load = vi.fn(async (key: string) => rows.get(key));
  const cache = new LayeredCache<Item>({
    name: "items",
    maxEntries: 100,
    l2: store,
    codec,
    load,
    logger,
    readThroughL2,
  });
  return { cache, load };
}

/** Times one call; returns its result and how long it took. */
export async function timed<R>(run: () => Promise<R>): Promise<{ result: R; ms: number }> {
  const start = performance.now();
  const result = await run();
  return { result, ms: performance.now() - start };
}

/** A port nothing listens on (right now). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A redis-server of our own (never the machine's shared one), killed at will. */
export class OwnRedis {
  #child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(REDIS_SERVER, ["--port", String(this.port), "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    this.#child = child;
    const exited = new Promise<never>((_, reject) => {
      child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}`)));
      child.once("error", reject);
    });
    exited.catch(() => {});
    const ready = (async () => {
      for (let i = 0; i < 200; i++) {
        if (await canConnect(this.port)) return;
        await sleep(25);
      }
      throw new Error(`redis-server on port ${this.port} did not accept connections`);
    })();
    await Promise.race([ready, exited]);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }

  /** Freezes the server: connections stay open, nothing is answered (a hung Redis). */
  pause(): void {
    this.#child?.kill("SIGSTOP");
  }

  resume(): void {
    this.#child?.kill("SIGCONT");
  }
}

/**
 * Records every unhandled rejection or uncaught error while the enclosing suite runs, into `seen`
 * (returned), for the tests to assert it stays empty.
 */
export function watchUnhandled(seen: unknown[] = []): unknown[] {
  const record = (error: unknown) => seen.push(error);
  beforeAll(() => {
    process.on("unhandledRejection", record);
    process.on("uncaughtException", record);
  });
  afterAll(() => {
    process.off("unhandledRejection", record);
    process.off("uncaughtException", record);
  });
  return seen;
}
