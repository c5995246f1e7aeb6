/**
 * How soon the admin UI's first view is usable, as a person meets it: the platform started as
 * `npm start` starts it (compiled, nothing configured), filled by `npm run seed`, opened in the
 * machine's own Chromium by the `#token=` link. Measured from navigation start to the moment the
 * products table shows the catalog (sign-in checked, bundle run, first page fetched and drawn),
 * cold (a new browser profile: nothing cached) and warm (assets from the browser's cache). Baseline: the API reference page (/docs, Swagger UI) served by the
 * same process, to its first operation. Target (issue #14): first view interactive within 1 s.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Browser, chromium } from "playwright-core";
import { mintToken } from "../src/platform/auth/index.js";
import { BENCH_SECRET, buildOnce, ratio, startCompiledPlatform, stopProcess } from "./load.js";

const PORT = 9141;
const RUNS = 7;
const BASE = `http://127.0.0.1:${PORT}`;

export interface PageTimings {
  name: string;
  coldMs: number[];
  warmMs: number[];
}

export async function runAdminUiBench(): Promise<PageTimings[]> {
  buildOnce();
  const dataDir = mkdtempSync(path.join(tmpdir(), "admin-ui-bench-"));
  const platform = await startCompiledPlatform(PORT, dataDir, {
    JWT_SECRET: BENCH_SECRET,
    HOST: "127.0.0.1",
  });
  let browser: Browser | undefined;
  try {
    const token = await mintToken(BENCH_SECRET, { sub: "admin", role: "admin" });
    // The platform's secret, so that the seed mints its customers' tokens (reviews) with it too,
    // never with a secret some earlier `npm start` left in ./data.
    execFileSync(process.execPath, ["--import", "tsx", "src/cli/seed.ts", "--url", BASE, "--token", token], {
      env: { ...process.env, JWT_SECRET: BENCH_SECRET, DATA_DIR: dataDir },
      stdio: ["ignore", "ignore", "inherit"],
    });
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    return [
      await timePage(
        browser,
        "admin UI, products (first view)",
        `${BASE}/admin#token=${token}`,
        "table.products tbody tr",
      ),
      await timePage(browser, "baseline: API reference (/docs)", `${BASE}/docs`, ".swagger-ui .opblock"),
    ];
  } finally {
    await browser?.close();
    await stopProcess(platform.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Milliseconds from navigation start to `selector` being on the page, read by the page's own clock. */
async function timePage(browser: Browser, name: string, url: string, selector: string): Promise<PageTimings> {
  const timings: PageTimings = { name, coldMs: [], warmMs: [] };
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    for (const series of [timings.coldMs, timings.warmMs]) {
      await page.goto(url);
      await page.waitForSelector(selector);
      series.push(Number(await page.evaluate("performance.now()")));
      await page.goto("about:blank");
    }
    await context.close();
  }
  return timings;
}

export function printAdminUiFigures(results: PageTimings[]): void {
  console.log(
    `\nAdmin UI first view, ${RUNS} runs each, npm start (compiled, embedded PostgreSQL) with npm run seed`,
  );
  console.log(
    "| page | cold median ms | cold max ms | warm median ms | warm max ms |\n|---|---|---|---|---|",
  );
  for (const { name, coldMs, warmMs } of results) {
    console.log(
      `| ${name} | ${median(coldMs)} | ${Math.max(...coldMs).toFixed(0)} | ${median(warmMs)} | ${Math.max(...warmMs).toFixed(0)} |`,
    );
  }
  const first = results[0];
  const baseline = results[results.length - 1];
  if (first !== undefined && baseline !== undefined)
    console.log(
      `first view cold, ratio to the API reference page: ${ratio(Number(median(first.coldMs)), Number(median(baseline.coldMs)))} (target: ≤ 1000 ms)`,
    );
}

function median(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(0);
}
