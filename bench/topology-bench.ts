/**
 * Issue #5, speed: the four-process topology (MODULES=inventory, orders, statistics and gateway,
 * started by test/support/topologies.ts) against one process hosting everything, both on the
 * real PostgreSQL, NATS and Redis (a fresh database and namespace each), in the same run:
 *
 * - GET /products/:id, warm, 50 connections;
 * - POST /orders, two lines spread over 100 products, 50 connections, a customer token.
 *
 * Each side is first loaded until its throughput stops rising (warmUp in load.ts: V8 compiles for
 * tens of seconds, longest in four processes), and the warm-up curves are printed. Then rounds of
 * the two topologies alternate (ABBA order) so that drift on a shared machine hits both.
 * Where the time goes: CPU time (user + sys from /proc/<pid>/stat) per completed request of every
 * process of each topology, of the PostgreSQL backends serving its database, of the shared Redis
 * and NATS servers and of the load generator (this process). CPU is read before a round, when its
 * load ends, and once the topology has gone quiet again (outbox relays, statistics consumer: work
 * an order leaves behind), so "after" is the deferred work of the round's requests. Last, the cost
 * of one hop alone: a GetProduct over connect-node (HTTP/1.1 and HTTP/2) and over the platform's
 * network transport and unary fast path, against a bare node:http request/response of the same size.
 */
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { create, toBinary } from "@bufbuild/protobuf";
import { type ConnectRouter, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import postgres from "postgres";
import {
  GetProductRequestSchema,
  GetProductResponseSchema,
  InventoryService,
} from "../src/gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { connectUnaryFastPath } from "../src/platform/server/index.js";
import { createNetworkTransport } from "../src/platform/transport/index.js";
import { freePorts } from "../test/support/child-app.js";
import {
  createServiceDeployment,
  type ServiceDeployment,
  TEST_SECRET,
  testToken,
} from "../test/support/deployment.js";
import { type SplitTopology, startSplitTopology } from "../test/support/topologies.js";
import {
  CATALOG_STOCK,
  createOrderCatalog,
  customerRotation,
  type LoadResult,
  ratio,
  runLoad,
  startPlatform,
  stopProcess,
  twoLinesOver,
  warmUp,
  warmUpCurve,
} from "./load.js";
import { backendsOf, cpuTicks, pidsNamed, TICKS_PER_SECOND } from "./process-cpu.js";

const ROUNDS = 3;
/** A topology is quiet once its processes used at most this many ticks in a {@link QUIET_WINDOW_MS}. */
const QUIET_TICKS = 2;
const QUIET_WINDOW_MS = 250;
const SETTLE_CAP_MS = 8_000;
const LOAD_GENERATOR = "load generator (autocannon)";

type Side = "split" | "single";
const SIDES: readonly Side[] = ["split", "single"];

/** CPU of one consumer over all rounds of one side, in microseconds per completed request. */
export interface CpuPerRequest {
  name: string;
  /** Used while the load ran. */
  duringUs: number;
  /** Used after the load ended, until the topology was quiet (deferred work, plus idle). */
  afterUs: number;
  /** Whether this is ours alone (false: shared with other sessions on the machine). */
  exclusive: boolean;
}

export interface SideFigures {
  load: LoadResult;
  requests: number;
  cpu: CpuPerRequest[];
  /** Longest wait for the topology to go quiet after a round. */
  maxSettleMs: number;
}

export interface TopologyWorkloadFigures {
  workload: string;
  /** Measured rounds per side. */
  rounds: number;
  /** Each side's warm-up rounds before the measured ones (req/s). */
  warmUp: Record<Side, number[]>;
  split: SideFigures;
  single: SideFigures;
}

/** One process-to-process call measured alone: client and server in this process, 50 in flight. */
export interface HopFigures {
  name: string;
  callsPerSecond: number;
  /** Client + server CPU per call. */
  cpuUs: number;
}

export interface TopologyFigures {
  workloads: TopologyWorkloadFigures[];
  hops: HopFigures[];
  roundSeconds: number;
  /** CPU of each process while nothing was asked of it, in % of one core. */
  idlePercent: Record<string, number>;
  /** Units ordered minus stock taken, per side; 0 means no oversell and no leak. */
  stockMismatch: Record<Side, number>;
  loadAverageBefore: number;
  loadAverageAfter: number;
}

/** Something whose CPU we account: a set of pids that may change (PostgreSQL backends come and go). */
interface CpuSource {
  name: string;
  exclusive: boolean;
  pids(): Promise<number[]>;
}

type Snapshot = Map<string, Map<number, number>>;

async function snapshot(sources: CpuSource[]): Promise<Snapshot> {
  const result: Snapshot = new Map();
  for (const source of sources) {
    const ticks = new Map<number, number>();
    for (const pid of await source.pids()) {
      const value = cpuTicks(pid);
      if (value !== undefined) ticks.set(pid, value);
    }
    result.set(source.name, ticks);
  }
  return result;
}

/** Ticks used between two snapshots, per source; a pid new in `after` counts from 0. */
function used(before: Snapshot, after: Snapshot): Map<string, number> {
  const result = new Map<string, number>();
  for (const [name, ticks] of after) {
    let sum = 0;
    for (const [pid, value] of ticks) sum += value - (before.get(name)?.get(pid) ?? 0);
    result.set(name, sum);
  }
  return result;
}

function sumOf(values: Iterable<number>): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum;
}

interface Deployed {
  baseUrl: string;
  databaseUrl: string;
  /** The topology's own processes and its PostgreSQL backends: what must go quiet after a round. */
  own: CpuSource[];
  ids: string[];
}

/** What the rounds of one side under one workload add up to. */
class Tally {
  readonly loads: LoadResult[] = [];
  requests = 0;
  maxSettleMs = 0;
  readonly during = new Map<string, number>();
  readonly after = new Map<string, number>();

  add(into: Map<string, number>, ticks: Map<string, number>): void {
    for (const [name, value] of ticks) into.set(name, (into.get(name) ?? 0) + value);
  }

  figures(sources: CpuSource[]): SideFigures {
    const perRequest = (ticks: number) =>
      this.requests === 0 ? 0 : (ticks * 1e6) / TICKS_PER_SECOND / this.requests;
    return {
      load: combine(this.loads),
      requests: this.requests,
      maxSettleMs: this.maxSettleMs,
      cpu: sources.map((source) => ({
        name: source.name,
        duringUs: perRequest(this.during.get(source.name) ?? 0),
        afterUs: perRequest(this.after.get(source.name) ?? 0),
        exclusive: source.exclusive,
      })),
    };
  }
}

/** Mean throughput, worst p50/p99 and total failures over the rounds. */
function combine(results: LoadResult[]): LoadResult {
  return {
    requestsPerSecond: sumOf(results.map((result) => result.requestsPerSecond)) / results.length,
    p50Ms: Math.max(...results.map((result) => result.p50Ms)),
    p99Ms: Math.max(...results.map((result) => result.p99Ms)),
    non2xx: sumOf(results.map((result) => result.non2xx)),
    errors: sumOf(results.map((result) => result.errors)),
  };
}

const HOP_PRODUCT = create(GetProductResponseSchema, {
  product: {
    id: "0190c0de-0000-7000-8000-000000000001",
    name: "Espresso cup",
    description: "A small cup",
    category: "kitchen",
    priceCents: 1299n,
    stock: 25,
  },
});

/** Calls `call` from 50 loops for `seconds` after a 1 s warm-up: calls/s and CPU µs per call. */
async function timeCalls(name: string, call: () => Promise<unknown>, seconds: number): Promise<HopFigures> {
  const loop = async (ms: number) => {
    let calls = 0;
    const end = Date.now() + ms;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (Date.now() < end) {
          await call();
          calls++;
        }
      }),
    );
    return calls;
  };
  await loop(1000);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const calls = await loop(seconds * 1000);
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { name, callsPerSecond: (calls * 1000) / elapsedMs, cpuUs: (cpu.user + cpu.system) / calls };
}

function listen(server: http.Server | http2.Http2Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

/** Closes a server with its connections (a client's idle HTTP/2 session would hold it open 15 min). */
function close(server: http.Server | http2.Http2Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if ("closeAllConnections" in server) server.closeAllConnections();
  for (const session of sessions.get(server) ?? []) session.destroy();
  return closed;
}

const sessions = new WeakMap<http.Server | http2.Http2Server, Set<http2.ServerHttp2Session>>();

function trackSessions(server: http2.Http2Server): http2.Http2Server {
  const open = new Set<http2.ServerHttp2Session>();
  sessions.set(server, open);
  server.on("session", (session: http2.ServerHttp2Session) => {
    open.add(session);
    session.once("close", () => open.delete(session));
  });
  return server;
}

/**
 * One hop, client and server in this process: connect-node's transport as src/app.ts built the
 * module clients (binary protobuf) over HTTP/1.1 and over HTTP/2, a bare node:http POST with a
 * keep-alive agent answering the same bytes (the floor for any HTTP hop in Node), and the module
 * clients' transport since issue 15 (network-transport.ts) against the one port's unary fast path
 * (connect-unary-fast-path.ts), whose target is at most 3 × the bare hop's CPU.
 */
export async function measureHops(seconds: number): Promise<HopFigures[]> {
  const figures: HopFigures[] = [];
  const routes = (router: ConnectRouter) =>
    router.service(InventoryService, { getProduct: () => HOP_PRODUCT });
  const handler = connectNodeAdapter({ routes });
  const request = { id: "0190c0de-0000-7000-8000-000000000001" };
  // The same bytes on the wire as the Connect call: the binary messages.
  const requestBody = toBinary(GetProductRequestSchema, create(GetProductRequestSchema, request));
  const body = toBinary(GetProductResponseSchema, HOP_PRODUCT);
  const bare = http.createServer((incoming, outgoing) => {
    incoming.resume();
    incoming.on("end", () => {
      outgoing.writeHead(200, { "content-type": "application/proto" });
      outgoing.end(body);
    });
  });
  const agent = new http.Agent({ keepAlive: true });
  const barePort = await listen(bare);
  figures.push(
    await timeCalls(
      "bare node:http (keep-alive agent)",
      () =>
        new Promise((resolve, reject) => {
          const outgoing = http.request(
            {
              host: "127.0.0.1",
              port: barePort,
              method: "POST",
              path: "/hop",
              agent,
              headers: { "content-type": "application/proto" },
            },
            (incoming) => {
              incoming.resume();
              incoming.on("end", resolve);
            },
          );
          outgoing.on("error", reject);
          outgoing.end(requestBody);
        }),
      seconds,
    ),
  );
  agent.destroy();
  await close(bare);
  for (const httpVersion of ["1.1", "2"] as const) {
    const server =
      httpVersion === "1.1" ? http.createServer(handler) : trackSessions(http2.createServer(handler));
    const port = await listen(server);
    const client = createClient(
      InventoryService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion }),
    );
    figures.push(
      await timeCalls(
        `connect-node GetProduct, HTTP/${httpVersion}`,
        () => client.getProduct(request),
        seconds,
      ),
    );
    await close(server);
  }
  // The module clients since issue 15: the platform's network transport (HTTP/1.1, keep-alive)
  // against the one port's unary fast path in front of the same adapter.
  const fast = http.createServer(connectUnaryFastPath({ routes, readMaxBytes: 1024 * 1024 }, handler));
  const fastPort = await listen(fast);
  const fastAgent = new http.Agent({ keepAlive: true });
  const fastClient = createClient(
    InventoryService,
    createNetworkTransport({ baseUrl: `http://127.0.0.1:${fastPort}`, agent: fastAgent }),
  );
  figures.push(
    await timeCalls(
      "platform network transport + unary fast path, HTTP/1.1",
      () => fastClient.getProduct(request),
      seconds,
    ),
  );
  fastAgent.destroy();
  await close(fast);
  return figures;
}

export async function runTopologyBench(durationSeconds = 10): Promise<TopologyFigures | undefined> {
  const { DATABASE_URL, NATS_URL, REDIS_URL } = process.env;
  if (!DATABASE_URL || !NATS_URL || !REDIS_URL) return undefined;
  const roundSeconds = Math.max(2, Math.round(durationSeconds / ROUNDS));
  const loadAverageBefore = loadavg()[0] ?? 0;

  const server = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  let split: SplitTopology | undefined;
  let singleDeployment: ServiceDeployment | undefined;
  let single: Awaited<ReturnType<typeof startPlatform>> | undefined;
  try {
    // Both topologies at once, each on a fresh database and namespace of the same servers.
    const [port] = (await freePorts(1)) as [number];
    split = await startSplitTopology();
    singleDeployment = await createServiceDeployment();
    // The deployment's JWT_SECRET replaces the bench's, so test tokens are accepted.
    single = await startPlatform(port, { ...singleDeployment.env, DATA_DIR: "memory://" });
    const admin = await testToken("bench-admin", "admin");
    // Many customers, as a shop sees them (see customerRotation).
    const nextCustomer = await customerRotation(5_000, TEST_SECRET);

    const pidSource = (name: string, pid: number | undefined): CpuSource => ({
      name,
      exclusive: true,
      pids: async () => (pid === undefined ? [] : [pid]),
    });
    const { processes } = split;
    const deployed: Record<Side, Deployed> = {
      split: {
        baseUrl: split.baseUrl,
        databaseUrl: split.deployment.databaseUrl,
        own: [
          pidSource("gateway", processes.gateway.process.pid),
          pidSource("inventory", processes.inventory.process.pid),
          pidSource("orders", processes.orders.process.pid),
          pidSource("statistics", processes.statistics.process.pid),
          {
            name: "postgres backends",
            exclusive: true,
            pids: backendsOf(server, split.deployment.databaseUrl),
          },
        ],
        ids: [],
      },
      single: {
        baseUrl: `http://127.0.0.1:${port}`,
        databaseUrl: singleDeployment.databaseUrl,
        own: [
          pidSource("platform", single.pid),
          {
            name: "postgres backends",
            exclusive: true,
            pids: backendsOf(server, singleDeployment.databaseUrl),
          },
        ],
        ids: [],
      },
    };
    const shared: CpuSource[] = [
      { name: "redis-server (shared)", exclusive: false, pids: async () => pidsNamed("redis-server") },
      { name: "nats-server (shared)", exclusive: false, pids: async () => pidsNamed("nats-server") },
    ];
    const sourcesOf = (side: Side) => [...deployed[side].own, ...shared];

    for (const side of SIDES) deployed[side].ids = await createOrderCatalog(deployed[side].baseUrl, admin);

    /** Waits until the side's own processes use next to no CPU; returns how long that took. */
    const settle = async (side: Side): Promise<number> => {
      const started = Date.now();
      let previous = await snapshot(deployed[side].own);
      while (Date.now() - started < SETTLE_CAP_MS) {
        await new Promise((resolve) => setTimeout(resolve, QUIET_WINDOW_MS));
        const current = await snapshot(deployed[side].own);
        if (sumOf(used(previous, current).values()) <= QUIET_TICKS) break;
        previous = current;
      }
      return Date.now() - started;
    };

    // What every process costs when nothing is asked of it (timers, pollers), over 2 s.
    for (const side of SIDES) await settle(side);
    const idleSources = [...deployed.split.own, ...deployed.single.own].filter(
      (source) => source.name !== "postgres backends",
    );
    const idleBefore = await snapshot(idleSources);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idleUsed = used(idleBefore, await snapshot(idleSources));
    const idlePercent = Object.fromEntries(
      [...idleUsed].map(([name, ticks]) => [name, (ticks * 100) / TICKS_PER_SECOND / 2]),
    );

    const workloads: TopologyWorkloadFigures[] = [];
    const definitions: {
      workload: string;
      load: (target: Deployed, seconds: number) => Promise<LoadResult>;
      /** Warm-up rounds at least (warmUp's default otherwise), and measured rounds. */
      minWarmRounds?: number;
      rounds?: number;
    }[] = [
      {
        workload: "GET /products/:id, warm",
        load: (target, seconds) =>
          runLoad({ url: `${target.baseUrl}/products/${target.ids[0]}`, durationSeconds: seconds }),
      },
      {
        workload: "POST /orders, two lines over 100 products",
        load: (target, seconds) =>
          runLoad({
            url: `${target.baseUrl}/orders`,
            method: "POST",
            connections: 50,
            durationSeconds: seconds,
            headers: { "content-type": "application/json" },
            makeHeaders: nextCustomer,
            makeBody: twoLinesOver(target.ids),
          }),
        // Throughput levels off before V8 does: after 5 rounds, compilation was still 9–16 % of
        // each split process's CPU samples, 2–6 % a minute later (BENCHMARKS.md, "The gateway's
        // orders in one call"). And a round of orders varies by ±15 %, so more rounds are averaged.
        minWarmRounds: 10,
        rounds: 5,
      },
    ];

    for (const { workload, load, minWarmRounds, rounds = ROUNDS } of definitions) {
      // Warm both until steady (JIT, caches, connection pools, keep-alive sockets between the
      // processes): the split's four processes each compile the same code, and take longer.
      const [splitCurve = [], singleCurve = []] = await warmUp(
        SIDES.map((side) => (seconds: number) => load(deployed[side], seconds)),
        minWarmRounds === undefined ? {} : { minRounds: minWarmRounds, maxRounds: minWarmRounds + 5 },
      );
      for (const side of SIDES) await settle(side);
      const warmed = { split: splitCurve, single: singleCurve };
      const tallies: Record<Side, Tally> = { split: new Tally(), single: new Tally() };
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? SIDES : [...SIDES].reverse();
        for (const side of order) {
          const sources = sourcesOf(side);
          const tally = tallies[side];
          const before = await snapshot(sources);
          const generatorBefore = process.cpuUsage();
          const result = await load(deployed[side], roundSeconds);
          const generator = process.cpuUsage(generatorBefore);
          const ended = await snapshot(sources);
          const settleMs = await settle(side);
          const quiet = await snapshot(sources);
          tally.loads.push(result);
          // Completed requests: autocannon's mean per second over the round's whole seconds.
          tally.requests += Math.round(result.requestsPerSecond * roundSeconds);
          tally.maxSettleMs = Math.max(tally.maxSettleMs, settleMs);
          tally.add(tally.during, used(before, ended));
          tally.add(
            tally.during,
            new Map([[LOAD_GENERATOR, ((generator.user + generator.system) * TICKS_PER_SECOND) / 1e6]]),
          );
          tally.add(tally.after, used(ended, quiet));
        }
      }
      const generatorSource: CpuSource = { name: LOAD_GENERATOR, exclusive: true, pids: async () => [] };
      workloads.push({
        workload,
        rounds,
        warmUp: warmed,
        split: tallies.split.figures([...sourcesOf("split"), generatorSource]),
        single: tallies.single.figures([...sourcesOf("single"), generatorSource]),
      });
    }

    const mismatch = async (databaseUrl: string) => {
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      try {
        const [row] = await sql`select
            (select coalesce(sum(quantity), 0) from orders.order_items)::bigint as ordered,
            (select coalesce(sum(${CATALOG_STOCK} - stock), 0) from inventory.products)::bigint as taken`;
        return Number(row?.ordered) - Number(row?.taken);
      } finally {
        await sql.end();
      }
    };
    // Alone, with both topologies idle: what one process-to-process call costs.
    const hops = await measureHops(3);
    return {
      workloads,
      hops,
      roundSeconds,
      idlePercent,
      stockMismatch: {
        split: await mismatch(deployed.split.databaseUrl),
        single: await mismatch(deployed.single.databaseUrl),
      },
      loadAverageBefore,
      loadAverageAfter: loadavg()[0] ?? 0,
    };
  } finally {
    if (single !== undefined) await stopProcess(single);
    await singleDeployment?.drop();
    await split?.stop();
    await server.end();
  }
}

const us = (value: number) => (value < 10 ? value.toFixed(1) : String(Math.round(value)));

export function printTopologyFigures(figures: TopologyFigures | undefined): void {
  if (figures === undefined) {
    console.log("\ntopology: skipped (set DATABASE_URL, NATS_URL and REDIS_URL)");
    return;
  }
  console.log(
    `\nFour processes (split) against one (single), PostgreSQL + NATS + Redis, 50 connections, ` +
      `alternating rounds of ${figures.roundSeconds} s per side ` +
      `(${figures.workloads.map(({ workload, rounds }) => `${rounds} for ${workload.split(",")[0]}`).join(", ")}) ` +
      `(load average ${figures.loadAverageBefore.toFixed(1)} before, ${figures.loadAverageAfter.toFixed(1)} after)`,
  );
  console.log(
    "| workload | split req/s | single req/s | ratio | split p50 / p99 ms | single p50 / p99 ms | p99 ratio | non-2xx+errors split / single |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const { workload, split, single } of figures.workloads) {
    console.log(
      `| ${workload} | ${Math.round(split.load.requestsPerSecond)} | ${Math.round(single.load.requestsPerSecond)} | ` +
        `${ratio(split.load.requestsPerSecond, single.load.requestsPerSecond)} | ${split.load.p50Ms} / ${split.load.p99Ms} | ` +
        `${single.load.p50Ms} / ${single.load.p99Ms} | ${ratio(split.load.p99Ms, Math.max(single.load.p99Ms, 0.001))} | ` +
        `${split.load.non2xx + split.load.errors} / ${single.load.non2xx + single.load.errors} |`,
    );
  }

  for (const { workload, warmUp: curves } of figures.workloads)
    console.log(
      `warm-up, ${workload} (3 s rounds until steady): split ${warmUpCurve(curves.split)}, single ${warmUpCurve(curves.single)}`,
    );

  for (const { workload, split, single } of figures.workloads) {
    console.log(
      `\nCPU per request, ${workload} (µs; "+ n" = used after the load ended, until quiet; ` +
        `${split.requests} / ${single.requests} requests; settled within ${split.maxSettleMs} / ${single.maxSettleMs} ms)`,
    );
    console.log("| where | split µs/req | single µs/req |");
    console.log("|---|---|---|");
    const cell = (cpu: CpuPerRequest | undefined) =>
      cpu === undefined
        ? "—"
        : cpu.afterUs >= 0.05
          ? `${us(cpu.duringUs)} + ${us(cpu.afterUs)}`
          : us(cpu.duringUs);
    const byName = (side: SideFigures, name: string) => side.cpu.find((cpu) => cpu.name === name);
    const names = [...new Set([...split.cpu, ...single.cpu].map((cpu) => cpu.name))];
    /** The topology's own processes and PostgreSQL backends: not the shared servers, not autocannon. */
    const platformTotal = (side: SideFigures) =>
      sumOf(
        side.cpu
          .filter((cpu) => cpu.exclusive && cpu.name !== LOAD_GENERATOR)
          .map((cpu) => cpu.duringUs + cpu.afterUs),
      );
    for (const name of names)
      console.log(`| ${name} | ${cell(byName(split, name))} | ${cell(byName(single, name))} |`);
    const ours = [platformTotal(split), platformTotal(single)] as const;
    console.log(
      `| **platform processes + their PostgreSQL backends** | **${us(ours[0])}** | **${us(ours[1])}** (split/single ${ratio(ours[0], ours[1])}) |`,
    );
  }
  console.log("\nOne hop alone (client and server in one process, 50 calls in flight, 3 s)");
  printHops(figures.hops);
  console.log(
    `\nidle CPU (% of a core, nothing asked): ${Object.entries(figures.idlePercent)
      .map(([name, percent]) => `${name} ${percent.toFixed(1)}`)
      .join(", ")}`,
  );
  console.log(
    `units ordered − stock taken: split ${figures.stockMismatch.split}, single ${figures.stockMismatch.single} (0 = no oversell, no leak)`,
  );
}

/** The hops as a table, each with its CPU per call as a multiple of the bare node:http hop's. */
export function printHops(hops: readonly HopFigures[]): void {
  const bare = hops.find((hop) => hop.name.startsWith("bare"));
  console.log("| call | calls/s | CPU µs per call (client + server) | × bare |");
  console.log("|---|---|---|---|");
  for (const hop of hops) {
    const times = bare === undefined ? "—" : (hop.cpuUs / bare.cpuUs).toFixed(1);
    console.log(`| ${hop.name} | ${Math.round(hop.callsPerSecond)} | ${us(hop.cpuUs)} | ${times} |`);
  }
}
