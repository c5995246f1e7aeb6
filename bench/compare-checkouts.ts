/**
 * Two checkouts of this repository, head to head: both platforms run at once (with the services of
 * the environment: DATABASE_URL, NATS_URL, REDIS_URL), each on a fresh database and a namespace of
 * its own, and are loaded in alternating rounds, so that the machine's drift hits both alike.
 * Prints B's throughput over A's, overall and per pair of rounds, and the CPU each platform process
 * and its PostgreSQL backends spent per request (less sensitive to the machine's noise). For "did
 * this change cost anything", which two separate `npm run bench` runs on a noisy machine cannot
 * resolve below ~10 %. Both are first warmed in turns until steady (warmUp in load.ts).
 *
 *   npx tsx bench/compare-checkouts.ts <checkout A> <checkout B> [rounds=10] [seconds per round=3]
 *
 * COMPARE_WORKLOAD picks the load: `read` (default; the cached product read) or `orders` (POST
 * /orders, two lines spread over 100 products, 5,000 customers, as the order-create bench).
 * COMPARE_BUILT=1 runs each checkout as `npm start` does (built, `node dist/main.js`, log level
 * info) rather than under tsx.
 *
 * The same checkout twice compares two settings: COMPARE_B_ENV='{"LOG_LEVEL":"warn"}' adds
 * variables to B's environment, and COMPARE_B_TRACED=1 starts B with tracing on, exporting to a
 * sink in this process that accepts every export and keeps nothing (what tracing costs the
 * platform, not a collector).
 *
 * A checkout is a directory with node_modules (a `git worktree` with a symlink to this one's).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { mintToken } from "../src/platform/auth/mint-token.js";
import { deleteStream } from "../test/support/deployment.js";
import { createTestDatabase, type TestDatabase, uniqueNamespace } from "../test/support/test-database.js";
import {
  BENCH_SECRET,
  createBenchProduct,
  createOrderCatalog,
  customerRotation,
  type LoadResult,
  runLoad,
  startBuiltPlatform,
  startPlatform,
  twoLinesOver,
  warmUp,
  warmUpCurve,
} from "./load.js";
import { backendsOf, cpuTicks, TICKS_PER_SECOND } from "./process-cpu.js";

const [dirA, dirB, roundsText = "10", secondsText = "3"] = process.argv.slice(2);
if (!dirA || !dirB || !process.env.DATABASE_URL) {
  console.error(
    "usage: DATABASE_URL=... npx tsx bench/compare-checkouts.ts <checkout A> <checkout B> [rounds] [seconds]",
  );
  process.exit(2);
}
const workload = process.env.COMPARE_WORKLOAD ?? "read";
if (workload !== "read" && workload !== "orders") {
  console.error(`COMPARE_WORKLOAD is read or orders, not ${workload}`);
  process.exit(2);
}

interface Side {
  child: ChildProcess;
  database: TestDatabase;
  namespace: string;
  /** The PostgreSQL backends serving its database now. */
  backends: () => Promise<number[]>;
  /** Loads the side for `seconds`. */
  load(seconds: number): Promise<LoadResult>;
}

/** Asked which backends serve each side's database. */
const server = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} });

async function start(checkout: string, port: number, extraEnv: Record<string, string> = {}): Promise<Side> {
  const database = await createTestDatabase(process.env.DATABASE_URL as string);
  const namespace = uniqueNamespace("ab");
  const env = {
    DATABASE_URL: database.url,
    NAMESPACE: namespace,
    DATA_DIR: mkdtempSync(path.join(tmpdir(), "ab-")),
    ...extraEnv,
  };
  const child =
    process.env.COMPARE_BUILT === "1"
      ? await startBuiltPlatform(port, env, checkout)
      : await startPlatform(port, env, checkout);
  const baseUrl = `http://127.0.0.1:${port}`;
  const load = workload === "read" ? readLoad(await createBenchProduct(baseUrl)) : await orderLoad(baseUrl);
  return { child, database, namespace, backends: backendsOf(server, database.url), load };
}

function readLoad(url: string): Side["load"] {
  return (seconds) => runLoad({ url, durationSeconds: seconds });
}

const nextCustomer = workload === "orders" ? await customerRotation(5_000) : () => ({});
/** POST /orders with two distinct lines over 100 products of ample stock, as the order-create bench. */
async function orderLoad(baseUrl: string): Promise<Side["load"]> {
  const admin = await mintToken(BENCH_SECRET, { sub: "bench-admin", role: "admin" });
  const makeBody = twoLinesOver(await createOrderCatalog(baseUrl, admin));
  return async (seconds) => {
    const result = await runLoad({
      url: `${baseUrl}/orders`,
      method: "POST",
      durationSeconds: seconds,
      headers: { "content-type": "application/json" },
      makeBody,
      makeHeaders: nextCustomer,
    });
    if (result.errors + result.non2xx > 0)
      console.error(`${baseUrl}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    return result;
  };
}

/** An OTLP endpoint that reads each export and answers 200, keeping nothing. */
async function startTraceSink(): Promise<string> {
  const sink = createServer((request, response) => {
    request.resume();
    request.on("end", () => response.end());
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  sink.unref();
  return `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
}
const envB: Record<string, string> = {
  ...(JSON.parse(process.env.COMPARE_B_ENV ?? "{}") as Record<string, string>),
  ...(process.env.COMPARE_B_TRACED === "1" ? { OTEL_EXPORTER_OTLP_ENDPOINT: await startTraceSink() } : {}),
};
const a = await start(dirA, 9160);
const b = await start(dirB, 9161, envB);
const [curveA = [], curveB = []] = await warmUp([a.load, b.load]);
console.log(`warm-up: A ${warmUpCurve(curveA)}, B ${warmUpCurve(curveB)}`);

interface Tally {
  requests: number;
  platformMicros: number;
  postgresMicros: number;
  requestsPerSecond: number;
  /** CPU per request of the last round: platform, PostgreSQL. */
  last: [number, number];
}
const tally = {
  a: { requests: 0, platformMicros: 0, postgresMicros: 0, requestsPerSecond: 0, last: [0, 0] } as Tally,
  b: { requests: 0, platformMicros: 0, postgresMicros: 0, requestsPerSecond: 0, last: [0, 0] } as Tally,
};
const ratios: number[] = [];
/** B's CPU per request minus A's, per pair of rounds: platform, PostgreSQL. */
const differences: { platform: number[]; postgres: number[] } = { platform: [], postgres: [] };

/** Loads one side for a round; adds the CPU its platform process and its backends spent. */
async function round(name: "a" | "b"): Promise<number> {
  const side = name === "a" ? a : b;
  const pid = side.child.pid as number;
  const backends = await side.backends();
  const platformBefore = cpuMicros([pid]);
  const postgresBefore = cpuMicros(backends);
  const seconds = Number(secondsText);
  const { requestsPerSecond } = await side.load(seconds);
  const requests = requestsPerSecond * seconds;
  const platform = cpuMicros([pid]) - platformBefore;
  // Backends started during the round count from zero.
  const backendCpu = cpuMicros([...new Set([...backends, ...(await side.backends())])]) - postgresBefore;
  const t = tally[name];
  t.requests += requests;
  t.platformMicros += platform;
  t.postgresMicros += backendCpu;
  t.requestsPerSecond += requestsPerSecond;
  t.last = [platform / requests, backendCpu / requests];
  return requestsPerSecond;
}
for (let r = 0; r < Number(roundsText); r++) {
  const [first, second] = r % 2 === 0 ? (["a", "b"] as const) : (["b", "a"] as const);
  const x = await round(first);
  const y = await round(second);
  const ra = first === "a" ? x : y,
    rb = first === "a" ? y : x;
  ratios.push(rb / ra);
  differences.platform.push(tally.b.last[0] - tally.a.last[0]);
  differences.postgres.push(tally.b.last[1] - tally.a.last[1]);
}
const median = (values: number[]) =>
  [...values].sort((p, q) => p - q)[Math.floor(values.length / 2)] ?? Number.NaN;
const meanRate = (t: Tally) => t.requestsPerSecond / ratios.length;
console.log(
  `${workload}: A ${Math.round(meanRate(tally.a))} req/s, B ${Math.round(meanRate(tally.b))} req/s, B/A ${(tally.b.requestsPerSecond / tally.a.requestsPerSecond).toFixed(3)}, median pair ${median(ratios).toFixed(3)}, pairs ${ratios.map((v) => v.toFixed(2)).join(" ")}`,
);
for (const [label, key, list] of [
  ["platform", "platformMicros", differences.platform],
  ["PostgreSQL", "postgresMicros", differences.postgres],
] as const) {
  const perRequest = (t: Tally) => (t[key] / t.requests).toFixed(1);
  console.log(
    `${label} CPU per request: A ${perRequest(tally.a)} µs, B ${perRequest(tally.b)} µs; B − A median pair ${median(list).toFixed(1)} µs, pairs ${list.map((v) => v.toFixed(1)).join(" ")}`,
  );
}
for (const side of [a, b]) side.child.kill("SIGTERM");
await Promise.all([a, b].map((side) => new Promise((r) => side.child.once("exit", r))));
for (const side of [a, b]) {
  await side.database.drop();
  if (process.env.NATS_URL) await deleteStream(process.env.NATS_URL, side.namespace);
}
await server.end();

/** User + system CPU time of `pids` (all their threads) in µs; nothing for one gone. */
function cpuMicros(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (cpuTicks(pid) ?? 0), 0) * (1e6 / TICKS_PER_SECOND);
}
