/** Helpers shared by the load benchmarks: child servers, autocannon runs, RSS sampling. */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import { mintToken } from "../src/platform/auth/mint-token.js";
import { uniqueNamespace } from "../test/support/test-database.js";

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

export async function runLoad(options: {
  url: string;
  connections?: number;
  durationSeconds?: number;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** A fresh body for every request (autocannon's setupRequest). */
  makeBody?: () => string;
  /** Headers added to every request, chosen afresh each time (e.g. another customer's token). */
  makeHeaders?: () => Record<string, string>;
  /** The path of every request, chosen afresh each time (e.g. another product of a catalog). */
  makePath?: () => string;
}): Promise<LoadResult> {
  const { makeBody, makeHeaders, makePath } = options;
  const setupRequest = (request: { headers?: Record<string, string> }) => ({
    ...request,
    ...(makeBody && { body: makeBody() }),
    ...(makeHeaders && { headers: { ...request.headers, ...makeHeaders() } }),
    ...(makePath && { path: makePath() }),
  });
  const result = await autocannon({
    url: options.url,
    connections: options.connections ?? 50,
    duration: options.durationSeconds ?? 10,
    method: options.method ?? "GET",
    headers: options.headers,
    body: options.body,
    ...(makeBody || makeHeaders || makePath ? { requests: [{ setupRequest }] } : {}),
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/**
 * Loads freshly started servers until their throughput stops rising, and resolves with the rate
 * of every warm-up round of each. V8 keeps compiling hot code for tens of seconds under load (four
 * processes each compile the same libraries, so a split topology takes longest), and a shop's
 * processes serve for hours after that: the figures worth comparing are the steady ones. The
 * servers take rounds of `roundSeconds` in turn, as the measured rounds that follow do (a server
 * left idle while another warms starts its next round slower), at least `minRounds` each (a
 * process may level off for a few rounds before it climbs again), until each has had two rounds in
 * a row no more than 5 % above its best round before them, at most `maxRounds` each.
 */
export async function warmUp(
  loads: readonly ((seconds: number) => Promise<LoadResult>)[],
  {
    roundSeconds = 3,
    minRounds = 5,
    maxRounds = 10,
  }: { roundSeconds?: number; minRounds?: number; maxRounds?: number } = {},
): Promise<number[][]> {
  const sides = loads.map((load) => ({ load, rates: [] as number[], flatRounds: 0 }));
  const warming = ({ rates, flatRounds }: (typeof sides)[number]) =>
    rates.length < minRounds || (rates.length < maxRounds && flatRounds < 2);
  while (sides.some(warming)) {
    for (const side of sides) {
      if (!warming(side)) continue;
      const { requestsPerSecond } = await side.load(roundSeconds);
      const best = Math.max(0, ...side.rates);
      side.flatRounds = side.rates.length > 0 && requestsPerSecond <= best * 1.05 ? side.flatRounds + 1 : 0;
      side.rates.push(requestsPerSecond);
    }
  }
  return sides.map((side) => side.rates);
}

/** Warm-up rates as printed: "193 → 304 → 439 req/s". */
export function warmUpCurve(rates: readonly number[]): string {
  return `${rates.map((rate) => Math.round(rate)).join(" → ")} req/s`;
}

/**
 * Spawns `node --import tsx <script> …` (`node <script> …` for compiled JavaScript) and resolves
 * once it prints a line matching `ready`.
 */
export async function startNodeProcess(
  script: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  cwd?: string,
): Promise<ChildProcess> {
  const loader = script.endsWith(".js") ? [] : ["--import", "tsx"];
  const child = spawn(process.execPath, [...loader, script, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${output}`)), 60_000);
    const onErrorData = (chunk: Buffer) => {
      output += chunk.toString();
    };
    const onExit = (code: number | null) => reject(new Error(`${script} exited with ${code}:\n${output}`));
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!ready.test(output)) return;
      clearTimeout(timer);
      // Output after start-up (an access-log line per request) is read and dropped, as a log
      // shipper would: kept here, it would grow without end and be searched again on every chunk.
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onErrorData);
      child.off("exit", onExit);
      resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onErrorData);
    child.once("exit", onExit);
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** Resident set size of a process in MiB, from /proc. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kib / 1024);
}

export function ratio(ours: number, baseline: number): string {
  return (ours / baseline).toFixed(2);
}

/**
 * `Authorization` headers of `count` distinct customers, handed out in turn: load spread over many
 * customers, as a shop sees it (one customer alone would meet MAX_PENDING_ORDERS, and the
 * per-customer pending-order count would make all its orders wait for each other).
 */
export async function customerRotation(
  count: number,
  secret = BENCH_SECRET,
): Promise<() => Record<string, string>> {
  const headers = await Promise.all(
    Array.from({ length: count }, async (_, index) => ({
      authorization: `Bearer ${await mintToken(secret, { sub: `bench-customer-${index}`, role: "customer" })}`,
    })),
  );
  let next = 0;
  return () => headers[next++ % count] as Record<string, string>;
}

/** The JWT secret every benchmarked platform process is started with. */
export const BENCH_SECRET = "bench-secret-long-enough-0123456789";

/**
 * The services the platform runs on, as the bench's environment sets them (NATS_URL and REDIS_URL
 * are passed on to the platform as they are; DATABASE_URL is each bench's own business): what a
 * figure was measured on.
 */
export function servicesLabel(database: "postgres" | "embedded"): string {
  const names = [database === "postgres" ? "PostgreSQL" : `${database} PostgreSQL`];
  if (process.env.NATS_URL) names.push("NATS");
  if (process.env.REDIS_URL) names.push("Redis");
  return names.join(" + ");
}

/**
 * Starts the platform as `npm start` does, on 127.0.0.1:`port` with the bench secret and the
 * default log level (info: one access-log line per request, read by this process as a log shipper
 * would); `env` adds the data directory and service URLs of the set-up being measured (NATS_URL and
 * REDIS_URL come from the bench's environment, under a namespace of the run's own, so no stream
 * or key of an earlier run is replayed); `checkout` runs another checkout of the repository
 * (default: this one).
 */
export function startPlatform(
  port: number,
  env: Record<string, string>,
  checkout?: string,
): Promise<ChildProcess> {
  return startPlatformScript("src/main.ts", port, env, checkout);
}

/**
 * startPlatform as `npm start` runs it: built once (its prestart), then `node dist/main.js`, at
 * the default log level (an access-log line per request on stdout, read and dropped as a log
 * shipper would), with the bench's secret so that the bench can mint its customers' tokens.
 */
export function startBuiltPlatform(
  port: number,
  env: Record<string, string>,
  checkout?: string,
): Promise<ChildProcess> {
  buildOnce(checkout);
  return startPlatformScript("dist/main.js", port, { LOG_LEVEL: "info", ...env }, checkout);
}

function startPlatformScript(
  script: string,
  port: number,
  env: Record<string, string>,
  checkout?: string,
): Promise<ChildProcess> {
  return startNodeProcess(
    script,
    [],
    {
      PORT: String(port),
      HOST: "127.0.0.1",
      JWT_SECRET: BENCH_SECRET,
      NAMESPACE: uniqueNamespace("bench"),
      ...env,
    },
    /listening on/,
    checkout,
  );
}

/** The stock of every product of {@link createOrderCatalog}: no bench run's orders exhaust it. */
export const CATALOG_STOCK = 1_000_000;

/**
 * Creates the catalog the order benches order from, as an admin: `count` products ("Product i",
 * 1000 + i cents, CATALOG_STOCK each). Resolves with their ids.
 */
export async function createOrderCatalog(
  baseUrl: string,
  adminToken: string,
  count = 100,
): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    const response = await fetch(`${baseUrl}/products`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: `Product ${index}`, price_cents: 1000 + index, stock: CATALOG_STOCK }),
    });
    if (response.status !== 201)
      throw new Error(`POST /products: ${response.status} ${await response.text()}`);
    ids.push(((await response.json()) as { id: string }).id);
  }
  return ids;
}

/** POST /orders bodies of two distinct products of `ids`, one unit each, picked afresh each time. */
export function twoLinesOver(ids: readonly string[]): () => string {
  return () => {
    const first = Math.floor(Math.random() * ids.length);
    const second = (first + 1 + Math.floor(Math.random() * (ids.length - 1))) % ids.length;
    return JSON.stringify({
      items: [
        { product_id: ids[first], quantity: 1 },
        { product_id: ids[second], quantity: 1 },
      ],
    });
  };
}

/** Creates the product the read benchmarks read, as an admin; resolves with its URL. */
export async function createBenchProduct(baseUrl: string, adminToken?: string): Promise<string> {
  const admin = adminToken ?? (await mintToken(BENCH_SECRET, { sub: "bench", role: "admin" }));
  const created = await fetch(`${baseUrl}/products`, {
    method: "POST",
    headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: "Espresso cup",
      description: "A small cup",
      category: "kitchen",
      price_cents: 1299,
      stock: 25,
    }),
  });
  const { id } = (await created.json()) as { id: string };
  return `${baseUrl}/products/${id}`;
}

/**
 * Starts the platform as `npm start` does once built (`node dist/main.js`) on 127.0.0.1:`port`,
 * with nothing configured but `settings` (no service URLs, no JWT_SECRET unless given); resolves
 * once /healthz answers, with how long that took.
 */
export async function startCompiledPlatform(
  port: number,
  dataDir: string,
  settings: Record<string, string> = {},
) {
  const started = performance.now();
  const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: dataDir, PORT: String(port) };
  for (const name of ["DATABASE_URL", "NATS_URL", "REDIS_URL", "JWT_SECRET"]) delete env[name];
  const child = spawn(process.execPath, ["dist/main.js"], {
    env: { ...env, LOG_LEVEL: "warn", ...settings },
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the platform exited with ${child.exitCode}`);
    const healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) break;
    await sleep(20);
  }
  return { child, pid: child.pid as number, startMs: Math.round(performance.now() - started) };
}

/**
 * Starts the platform exactly as a user's `npm start` does: built first (`npm run build`, once per
 * bench run), then `node dist/main.js` with the default log level (info: an access-log line per
 * request on stdout, read and dropped by this process as a terminal or log shipper would) and no
 * JWT_SECRET, so it generates one into `dataDir` and prints an admin token, which is returned.
 * `env` adds PORT-independent settings (service URLs for the production configuration); the
 * bench's own DATABASE_URL, NATS_URL, REDIS_URL and JWT_SECRET are never inherited.
 */
export async function startAsUserDoes(
  port: number,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; adminToken: string }> {
  buildOnce();
  const inherited: Record<string, string | undefined> = { ...process.env };
  for (const name of ["DATABASE_URL", "NATS_URL", "REDIS_URL", "JWT_SECRET", "LOG_LEVEL"])
    delete inherited[name];
  const child = spawn(process.execPath, ["dist/main.js"], {
    env: { ...inherited, PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const adminToken = await new Promise<string>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(
      () => reject(new Error(`npm start did not print its tokens:\n${output}`)),
      60_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const token = /admin token:\s+(\S+)/.exec(output)?.[1];
      if (token === undefined) return;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      resolve(token);
    };
    const onExit = (code: number | null) => reject(new Error(`npm start exited with ${code}:\n${output}`));
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", onExit);
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return { child, adminToken };
}

const built = new Set<string>();
/**
 * `npm run build`, once per bench run and checkout (default: this one): what `npm start` runs
 * first (its prestart).
 */
export function buildOnce(checkout = "."): void {
  if (built.has(checkout)) return;
  execFileSync("npm", ["run", "build", "--silent"], { stdio: "inherit", cwd: checkout });
  built.add(checkout);
}
