/**
 * The cached product read of two checkouts of this repository, head to head: both platforms run at
 * once (with the services of the environment: DATABASE_URL, NATS_URL, REDIS_URL), each on a fresh
 * database and a namespace of its own, and are loaded in alternating rounds, so that the machine's
 * drift hits both alike. Prints B's throughput over A's, overall and per pair of rounds, and the
 * CPU each platform process spent per request (less sensitive to the machine's noise). For
 * "did this change cost the hot read anything", which two separate `npm run bench` runs on a noisy
 * machine cannot resolve below ~10 %.
 *
 *   npx tsx bench/compare-checkouts.ts <checkout A> <checkout B> [rounds=10] [seconds per round=3]
 *
 * The same checkout twice compares two settings: COMPARE_B_ENV='{"LOG_LEVEL":"warn"}' adds
 * variables to B's environment, and COMPARE_B_TRACED=1 starts B with tracing on, exporting to a
 * sink in this process that accepts every export and keeps nothing (what tracing costs the
 * platform, not a collector).
 *
 * A checkout is a directory with node_modules (a `git worktree` with a symlink to this one's).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestDatabase } from "../test/support/test-database.js";
import { createBenchProduct, runLoad, startPlatform } from "./load.js";

const [dirA, dirB, roundsText = "10", secondsText = "3"] = process.argv.slice(2);
if (!dirA || !dirB || !process.env.DATABASE_URL) {
  console.error(
    "usage: DATABASE_URL=... npx tsx bench/compare-checkouts.ts <checkout A> <checkout B> [rounds] [seconds]",
  );
  process.exit(2);
}
async function start(
  checkout: string,
  port: number,
  namespace: string,
  extraEnv: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string }> {
  const database = await createTestDatabase(process.env.DATABASE_URL as string);
  const env = {
    DATABASE_URL: database.url,
    NAMESPACE: namespace,
    DATA_DIR: mkdtempSync(path.join(tmpdir(), "ab-")),
    ...extraEnv,
  };
  const child = await startPlatform(port, env, checkout);
  return { child, url: await createBenchProduct(`http://127.0.0.1:${port}`) };
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
const a = await start(dirA, 9160, "abA");
const b = await start(dirB, 9161, "abB", envB);
await runLoad({ url: a.url, durationSeconds: 3 });
await runLoad({ url: b.url, durationSeconds: 3 });
const ratios: number[] = [];
let sumA = 0,
  sumB = 0;
const cpu = { a: { micros: 0, requests: 0 }, b: { micros: 0, requests: 0 } };
/** B's CPU per request minus A's, per pair of rounds. */
const cpuDifferences: number[] = [];
const lastPerRequest = { a: 0, b: 0 };
/** Loads one side for a round; adds the CPU its platform process (all its threads) spent to `cpu`. */
async function round(side: "a" | "b"): Promise<number> {
  const platform = side === "a" ? a : b;
  const before = cpuMicros(platform.child.pid as number);
  const seconds = Number(secondsText);
  const { requestsPerSecond } = await runLoad({ url: platform.url, durationSeconds: seconds });
  const micros = cpuMicros(platform.child.pid as number) - before;
  cpu[side].micros += micros;
  cpu[side].requests += requestsPerSecond * seconds;
  lastPerRequest[side] = micros / (requestsPerSecond * seconds);
  return requestsPerSecond;
}
for (let r = 0; r < Number(roundsText); r++) {
  const [first, second] = r % 2 === 0 ? (["a", "b"] as const) : (["b", "a"] as const);
  const x = await round(first);
  const y = await round(second);
  const ra = first === "a" ? x : y,
    rb = first === "a" ? y : x;
  sumA += ra;
  sumB += rb;
  ratios.push(rb / ra);
  cpuDifferences.push(lastPerRequest.b - lastPerRequest.a);
}
ratios.sort((p, q) => p - q);
const median = ratios[Math.floor(ratios.length / 2)] ?? Number.NaN;
const perRequest = (side: "a" | "b") => (cpu[side].micros / cpu[side].requests).toFixed(1);
console.log(
  `A ${Math.round(sumA / ratios.length)} req/s, B ${Math.round(sumB / ratios.length)} req/s, B/A ${(sumB / sumA).toFixed(3)}, median pair ${median.toFixed(3)}, pairs ${ratios.map((v) => v.toFixed(2)).join(" ")}`,
);
cpuDifferences.sort((p, q) => p - q);
const medianDifference = cpuDifferences[Math.floor(cpuDifferences.length / 2)] ?? Number.NaN;
console.log(
  `platform CPU per request: A ${perRequest("a")} µs, B ${perRequest("b")} µs; B − A median pair ${medianDifference.toFixed(1)} µs, pairs ${cpuDifferences.map((v) => v.toFixed(1)).join(" ")}`,
);
a.child.kill("SIGTERM");
b.child.kill("SIGTERM");
await Promise.all([new Promise((r) => a.child.once("exit", r)), new Promise((r) => b.child.once("exit", r))]);

/** User + system CPU time of process `pid` (all its threads) in µs, from /proc. */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}
