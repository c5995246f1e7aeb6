/**
 * POST /orders with two lines on real PostgreSQL, through the whole platform (gateway → orders
 * module → StockService → inventory → PostgreSQL, three transactions), against a bare Hono route
 * doing the minimal work by hand with postgres.js in one transaction, in the same run. Two
 * workloads: lines spread over 100 products, and every order on the same two products. Each side
 * is loaded until its throughput stops rising first (warmUp in load.ts), and the curve printed.
 * Targets: ≥ 0.5 × the baseline's orders/s in both, no oversell, no errors but 409.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { mintToken } from "../src/platform/auth/mint-token.js";
import { deleteStream } from "../test/support/deployment.js";
import { createTestDatabase, uniqueNamespace } from "../test/support/test-database.js";
import {
  BENCH_SECRET,
  CATALOG_STOCK,
  createOrderCatalog,
  customerRotation,
  type LoadResult,
  runLoad,
  servicesLabel,
  startBuiltPlatform,
  startNodeProcess,
  stopProcess,
  twoLinesOver,
  warmUp,
  warmUpCurve,
} from "./load.js";

const APP_PORT = 9103;
const BASELINE_PORT = 9104;

export interface OrderWorkloadFigures {
  workload: string;
  /** Each side's warm-up rounds before the measured ones (orders/s). */
  warmUp: { ours: number[]; baseline: number[] };
  ours: LoadResult;
  baseline: LoadResult;
  ratio: number;
}

export interface OrderCreateFigures {
  workloads: OrderWorkloadFigures[];
  /** Units ordered minus stock taken, per side; 0 means no oversell and no leak. */
  oursStockMismatch: number;
  baselineStockMismatch: number;
  /** What the platform ran on. */
  services: string;
}

export async function runOrderCreateBench(durationSeconds = 10): Promise<OrderCreateFigures | undefined> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return undefined;
  const database = await createTestDatabase(serverUrl);
  const dataDir = mkdtempSync(path.join(tmpdir(), "bench-orders-"));
  const namespace = uniqueNamespace("bench");
  const app = await startBuiltPlatform(APP_PORT, {
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    NAMESPACE: namespace,
  });
  const baseline = await startNodeProcess(
    "bench/baseline-order-server.ts",
    [String(BASELINE_PORT), database.url],
    {},
    /ready/,
  );
  try {
    const admin = await mintToken(BENCH_SECRET, { sub: "bench-admin", role: "admin" });
    // 5,000 customers: every order of a run fits their pending-order limits several times over.
    const nextCustomer = await customerRotation(5_000);
    const ids = await createOrderCatalog(`http://127.0.0.1:${APP_PORT}`, admin);
    await fetch(`http://127.0.0.1:${BASELINE_PORT}/seed`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        products: ids.map((id, index) => ({ id, price_cents: 1000 + index, stock: CATALOG_STOCK })),
      }),
    });

    const spread = twoLinesOver(ids);
    const hot = () =>
      JSON.stringify({
        items: [
          { product_id: ids[0], quantity: 1 },
          { product_id: ids[1], quantity: 1 },
        ],
      });

    const workloads: OrderWorkloadFigures[] = [];
    for (const [workload, makeBody] of [
      ["spread over 100 products", spread],
      ["every order on the same two products", hot],
    ] as const) {
      const load = (port: number, seconds: number) =>
        runLoad({
          url: `http://127.0.0.1:${port}/orders`,
          method: "POST",
          connections: 50,
          durationSeconds: seconds,
          headers: { "content-type": "application/json" },
          makeBody,
          // The baseline ignores the header; both sides send the same requests.
          makeHeaders: nextCustomer,
        });
      // Both until steady: the platform's V8 compiles its hot code for tens of seconds.
      const [oursCurve = [], baselineCurve = []] = await warmUp([
        (seconds) => load(APP_PORT, seconds),
        (seconds) => load(BASELINE_PORT, seconds),
      ]);
      const warmed = { ours: oursCurve, baseline: baselineCurve };
      const rounds = 2;
      const ours: LoadResult[] = [];
      const base: LoadResult[] = [];
      for (let round = 0; round < rounds; round++) {
        ours.push(await load(APP_PORT, durationSeconds / rounds));
        base.push(await load(BASELINE_PORT, durationSeconds / rounds));
      }
      const mean = (results: LoadResult[]): LoadResult => ({
        requestsPerSecond:
          results.reduce((sum, result) => sum + result.requestsPerSecond, 0) / results.length,
        p50Ms: Math.max(...results.map((result) => result.p50Ms)),
        p99Ms: Math.max(...results.map((result) => result.p99Ms)),
        non2xx: results.reduce((sum, result) => sum + result.non2xx, 0),
        errors: results.reduce((sum, result) => sum + result.errors, 0),
      });
      const oursMean = mean(ours);
      const baseMean = mean(base);
      workloads.push({
        workload,
        warmUp: warmed,
        ours: oursMean,
        baseline: baseMean,
        ratio: oursMean.requestsPerSecond / baseMean.requestsPerSecond,
      });
    }

    // Let in-flight work settle, then compare units ordered with stock taken on both sides.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    const [ourSide] = await sql`select
        (select coalesce(sum(quantity), 0) from orders.order_items)::bigint as ordered,
        (select coalesce(sum(${CATALOG_STOCK} - stock), 0) from inventory.products)::bigint as taken`;
    const [baseSide] = await sql`select
        (select coalesce(sum(quantity), 0) from baseline.order_items)::bigint as ordered,
        (select coalesce(sum(${CATALOG_STOCK} - stock), 0) from baseline.products)::bigint as taken`;
    await sql.end();
    return {
      workloads,
      oursStockMismatch: Number(ourSide?.ordered) - Number(ourSide?.taken),
      baselineStockMismatch: Number(baseSide?.ordered) - Number(baseSide?.taken),
      services: servicesLabel("postgres"),
    };
  } finally {
    await stopProcess(app);
    await stopProcess(baseline);
    rmSync(dataDir, { recursive: true, force: true });
    await database.drop();
    // Its JetStream stream would outlive it on the shared NATS.
    if (process.env.NATS_URL) await deleteStream(process.env.NATS_URL, namespace);
  }
}

export function printOrderCreateFigures(figures: OrderCreateFigures | undefined): void {
  if (figures === undefined) {
    console.log("\nPOST /orders: skipped (set DATABASE_URL to a PostgreSQL server)");
    return;
  }
  console.log(
    `\nPOST /orders, two lines, 50 connections, platform on ${figures.services}, baseline on the same PostgreSQL`,
  );
  console.log(
    "| workload | platform orders/s | baseline orders/s | ratio | platform p99 ms | baseline p99 ms | platform non-2xx | baseline non-2xx |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const { workload, ours, baseline, ratio } of figures.workloads) {
    console.log(
      `| ${workload} | ${Math.round(ours.requestsPerSecond)} | ${Math.round(baseline.requestsPerSecond)} | ${ratio.toFixed(2)} | ${ours.p99Ms} | ${baseline.p99Ms} | ${ours.non2xx + ours.errors} | ${baseline.non2xx + baseline.errors} |`,
    );
  }
  for (const { workload, warmUp: curves } of figures.workloads)
    console.log(
      `warm-up, ${workload} (3 s rounds until steady): platform ${warmUpCurve(curves.ours)}, baseline ${warmUpCurve(curves.baseline)}`,
    );
  console.log(
    `units ordered − stock taken: platform ${figures.oursStockMismatch}, baseline ${figures.baselineStockMismatch} (0 = no oversell, no leak); target ratio ≥ 0.5`,
  );
}
