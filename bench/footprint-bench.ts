/**
 * What `npm start` with nothing configured costs a new user's machine: the platform process (the
 * compiled JavaScript `npm start` runs after its build) and its embedded PostgreSQL server (every
 * process of both: the server's backends), idle after start, as proportional set size (PSS: shared pages split
 * between the processes sharing them, so the sum is what they cost together). Then how long a
 * restart on the same DATA_DIR takes to answer /healthz. Targets: ≤ 200 MB, ≤ 5 s.
 *
 * With DATABASE_URL, NATS_URL and REDIS_URL set, also one process in the production configuration
 * (compiled JavaScript, as in the image): resident memory idle, and its peak under the cached read
 * load. Targets (issue #15): ≤ 150 MB idle, ≤ 250 MB under load.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runningServerPid } from "../src/platform/db/embedded-postgres.js";
import { deleteStream } from "../test/support/deployment.js";
import { createTestDatabase, uniqueNamespace } from "../test/support/test-database.js";
import {
  BENCH_SECRET,
  buildOnce,
  createBenchProduct,
  rssMiB,
  runLoad,
  startCompiledPlatform,
  stopProcess,
} from "./load.js";

const PORT = 9131;
const IDLE_SECONDS = 5;

export interface FootprintFigures {
  firstStartMs: number;
  platformMiB: number;
  databaseMiB: number;
  restartToHealthyMs: number;
  production: ProductionFootprint | undefined;
}

export interface ProductionFootprint {
  idleRssMiB: number;
  idlePssMiB: number;
  loadPeakRssMiB: number;
  requestsPerSecond: number;
}

export async function runFootprintBench(): Promise<FootprintFigures> {
  // What `npm start` does first (its prestart).
  buildOnce();
  const dataDir = mkdtempSync(path.join(tmpdir(), "footprint-"));
  try {
    const first = await startCompiledPlatform(PORT, dataDir);
    await sleep(IDLE_SECONDS * 1000);
    const platformPids = [first.pid, ...descendants(first.pid)];
    const serverPid = runningServerPid(dataDir);
    const databasePids = serverPid === undefined ? [] : [serverPid, ...descendants(serverPid)];
    const figures = {
      firstStartMs: first.startMs,
      platformMiB: mib(platformPids),
      databaseMiB: mib(databasePids),
    };
    await stopProcess(first.child);
    const second = await startCompiledPlatform(PORT, dataDir);
    await stopProcess(second.child);
    return { ...figures, restartToHealthyMs: second.startMs, production: await runProductionFootprint() };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function runProductionFootprint(): Promise<ProductionFootprint | undefined> {
  const { DATABASE_URL, NATS_URL, REDIS_URL } = process.env;
  if (!DATABASE_URL || !NATS_URL || !REDIS_URL) return undefined;
  const database = await createTestDatabase(DATABASE_URL);
  const namespace = uniqueNamespace("footprint");
  const dataDir = mkdtempSync(path.join(tmpdir(), "footprint-production-"));
  try {
    const platform = await startCompiledPlatform(PORT, dataDir, {
      DATABASE_URL: database.url,
      NATS_URL,
      REDIS_URL,
      NAMESPACE: namespace,
      JWT_SECRET: BENCH_SECRET,
    });
    try {
      await sleep(IDLE_SECONDS * 1000);
      const idleRssMiB = rssMiB(platform.pid);
      const idlePssMiB = mib([platform.pid]);
      const url = await createBenchProduct(`http://127.0.0.1:${PORT}`);
      let loadPeakRssMiB = 0;
      const sampler = setInterval(() => {
        loadPeakRssMiB = Math.max(loadPeakRssMiB, rssMiB(platform.pid));
      }, 250);
      const { requestsPerSecond } = await runLoad({ url, durationSeconds: 10 });
      clearInterval(sampler);
      return { idleRssMiB, idlePssMiB, loadPeakRssMiB, requestsPerSecond };
    } finally {
      await stopProcess(platform.child);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await database.drop();
    // Its JetStream stream would outlive it on the shared NATS.
    await deleteStream(NATS_URL, namespace);
  }
}

export function printFootprintFigures(figures: FootprintFigures): void {
  const total = figures.platformMiB + figures.databaseMiB;
  console.log(`\nnpm start with nothing configured, idle ${IDLE_SECONDS} s after start (PSS)`);
  console.log("| what | MiB |\n|---|---|");
  console.log(`| platform process | ${figures.platformMiB.toFixed(0)} |`);
  console.log(`| embedded PostgreSQL (server and backends) | ${figures.databaseMiB.toFixed(0)} |`);
  console.log(`| together (target ≤ 200) | ${total.toFixed(0)} |`);
  console.log(
    `first start (new cluster) to /healthz: ${figures.firstStartMs} ms; restart on the same DATA_DIR: ${figures.restartToHealthyMs} ms (target ≤ 5000)`,
  );
  const { production } = figures;
  if (production === undefined) {
    console.log("production configuration: not measured (set DATABASE_URL, NATS_URL and REDIS_URL)");
    return;
  }
  console.log("\none process, PostgreSQL + NATS + Redis, node dist/main.js");
  console.log("| what | MiB |\n|---|---|");
  console.log(`| resident idle (target ≤ 150) | ${production.idleRssMiB.toFixed(0)} |`);
  console.log(`| PSS idle | ${production.idlePssMiB.toFixed(0)} |`);
  console.log(
    `| resident peak under the cached read, ${Math.round(production.requestsPerSecond)} req/s (target ≤ 250) | ${production.loadPeakRssMiB.toFixed(0)} |`,
  );
}

/** Every process below `pid`, from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  const walk = (from: number) => {
    for (const child of children.get(from) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/** Summed PSS of `pids` in MiB. */
function mib(pids: number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      kib += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
    } catch {
      // Gone meanwhile.
    }
  }
  return kib / 1024;
}
