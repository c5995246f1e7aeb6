/**
 * GET /products/:id on a warm cache through the whole stack (the one port's request handling, the
 * REST gateway, its edge copy of the product: an anonymous warm read calls no module), against a
 * bare Hono route reading a Map, in the same run. The platform is started as a user's `npm start` starts it (built, `node dist/main.js`,
 * the default log level, its generated secret and printed admin token): with nothing configured
 * (the embedded PostgreSQL), or with DATABASE_URL, and NATS_URL and REDIS_URL when the bench's
 * environment sets them (the production configuration). Targets: ≥ 0.8 × the baseline's
 * requests/s in every pair of rounds, p99 ≤ 2 × the baseline's. BENCH_CATALOG=n reads n products
 * in turn on both sides instead of one (a catalog, as a shop's readers spread over it).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { deleteStream } from "../test/support/deployment.js";
import { createTestDatabase, uniqueNamespace } from "../test/support/test-database.js";
import { catalogIds } from "./baseline-catalog.js";
import {
  createBenchProduct,
  type LoadResult,
  ratio,
  rssMiB,
  runLoad,
  servicesLabel,
  startAsUserDoes,
  startNodeProcess,
  stopProcess,
} from "./load.js";

const APP_PORT = 9102;
const BASELINE_PORT = 9101;

export interface ProductReadFigures {
  ours: LoadResult;
  baseline: LoadResult;
  throughputRatio: number;
  /** Platform req/s over baseline req/s of each pair of adjacent rounds, in order. */
  roundRatios: number[];
  /** The median of roundRatios: the figure least moved by one disturbed round. */
  medianRoundRatio: number;
  p99Ratio: number;
  rssUnderLoadMiB: number;
  database: "postgres" | "embedded";
  /** What the platform ran on. */
  services: string;
  /** How many products the reads were spread over. */
  catalog: number;
}

export async function runProductReadBench(durationSeconds = 10): Promise<ProductReadFigures> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "bench-"));
  // A fresh database on the machine's PostgreSQL when there is one (as in production), else the embedded one.
  const database = process.env.DATABASE_URL ? await createTestDatabase(process.env.DATABASE_URL) : undefined;
  const { NATS_URL, REDIS_URL } = process.env;
  const namespace = uniqueNamespace("bench");
  const { child: app, adminToken } = await startAsUserDoes(APP_PORT, dataDir, {
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...(NATS_URL ? { NATS_URL } : {}),
    ...(REDIS_URL ? { REDIS_URL } : {}),
    NAMESPACE: namespace,
  });
  const catalog = Math.max(1, Number(process.env.BENCH_CATALOG ?? 1));
  const baseline = await startNodeProcess(
    "bench/baseline-map-server.ts",
    [String(BASELINE_PORT), String(catalog)],
    {},
    /ready/,
  );
  try {
    const ourUrls: string[] = [];
    while (ourUrls.length < catalog) {
      const batch = Math.min(20, catalog - ourUrls.length);
      ourUrls.push(
        ...(await Promise.all(
          Array.from({ length: batch }, () => createBenchProduct(`http://127.0.0.1:${APP_PORT}`, adminToken)),
        )),
      );
    }
    const ourUrl = ourUrls[0] as string;
    const baselineUrl = `http://127.0.0.1:${BASELINE_PORT}/products/${catalogIds(1)[0]}`;
    // Each request reads the next product of the catalog (the same one when there is one).
    const inTurn = (paths: string[]) => {
      let next = 0;
      return () => paths[next++ % paths.length] as string;
    };
    const ourPaths = ourUrls.map((url) => new URL(url).pathname);
    const baselinePaths = catalogIds(catalog).map((id) => `/products/${id}`);
    const ourLoad = (seconds: number) =>
      runLoad({ url: ourUrl, durationSeconds: seconds, ...(catalog > 1 && { makePath: inTurn(ourPaths) }) });
    const baselineLoad = (seconds: number) =>
      runLoad({
        url: baselineUrl,
        durationSeconds: seconds,
        ...(catalog > 1 && { makePath: inTurn(baselinePaths) }),
      });

    // Warm both (JIT, cache) before measuring.
    await ourLoad(3);
    await baselineLoad(3);

    let rssUnderLoadMiB = 0;
    const sampler = setInterval(() => {
      rssUnderLoadMiB = Math.max(rssUnderLoadMiB, rssMiB(app.pid as number));
    }, 500);
    // Alternate short rounds so drift on a shared 2-core machine hits both sides alike; several
    // pairs, so that one round disturbed by something else on the machine does not decide.
    const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 6));
    const roundSeconds = Math.max(3, durationSeconds / rounds);
    const ourRounds: LoadResult[] = [];
    const baseRounds: LoadResult[] = [];
    for (let round = 0; round < rounds; round++) {
      ourRounds.push(await ourLoad(roundSeconds));
      baseRounds.push(await baselineLoad(roundSeconds));
    }
    clearInterval(sampler);
    const ours = combine(ourRounds);
    const base = combine(baseRounds);
    const roundRatios = ourRounds.map(
      (round, index) => round.requestsPerSecond / (baseRounds[index] as LoadResult).requestsPerSecond,
    );
    return {
      ours,
      baseline: base,
      throughputRatio: ours.requestsPerSecond / base.requestsPerSecond,
      roundRatios,
      medianRoundRatio: median(roundRatios),
      p99Ratio: ours.p99Ms / Math.max(base.p99Ms, 0.001),
      rssUnderLoadMiB,
      database: database ? "postgres" : "embedded",
      services: servicesLabel(database ? "postgres" : "embedded"),
      catalog,
    };
  } finally {
    await stopProcess(app);
    await stopProcess(baseline);
    rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
    // Its JetStream stream would outlive it on the shared NATS.
    if (NATS_URL) await deleteStream(NATS_URL, namespace);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Mean throughput, worst p50/p99 and total failures over the rounds. */
function combine(results: LoadResult[]): LoadResult {
  return {
    requestsPerSecond: results.reduce((sum, result) => sum + result.requestsPerSecond, 0) / results.length,
    p50Ms: Math.max(...results.map((result) => result.p50Ms)),
    p99Ms: Math.max(...results.map((result) => result.p99Ms)),
    non2xx: results.reduce((sum, result) => sum + result.non2xx, 0),
    errors: results.reduce((sum, result) => sum + result.errors, 0),
  };
}

export function printProductReadFigures(figures: ProductReadFigures): void {
  const row = (name: string, result: LoadResult) =>
    `| ${name} | ${Math.round(result.requestsPerSecond)} | ${result.p50Ms} | ${result.p99Ms} | ${result.non2xx + result.errors} |`;
  const what = figures.catalog === 1 ? "one product" : `${figures.catalog} products in turn`;
  console.log(`\nGET /products/:id, warm cache, ${what}, 50 connections (platform on ${figures.services})`);
  console.log("| server | req/s | p50 ms | p99 ms | non-2xx+errors |");
  console.log("|---|---|---|---|---|");
  console.log(row("platform as npm start runs it (gateway → its edge copy, L1)", figures.ours));
  console.log(row("baseline (bare Hono + Map)", figures.baseline));
  console.log(
    `throughput ratio ${ratio(figures.ours.requestsPerSecond, figures.baseline.requestsPerSecond)} (target ≥ 0.8), ` +
      `p99 ratio ${figures.p99Ratio.toFixed(2)} (target ≤ 2), platform RSS under load ${figures.rssUnderLoadMiB} MiB`,
  );
  console.log(
    `per pair of rounds: ${figures.roundRatios.map((value) => value.toFixed(2)).join(", ")}; ` +
      `median ${figures.medianRoundRatio.toFixed(2)}, lowest ${Math.min(...figures.roundRatios).toFixed(2)} (target: every pair ≥ 0.8)`,
  );
}
