/**
 * What a statistics read costs as history grows: `GET /stats/user-orders/:user_id` through the
 * whole stack (REST gateway → StatisticsService → PostgreSQL) on a platform holding 1,000 orders
 * and on one holding 100,000, side by side, in the same run.
 *
 * Each platform has a database of its own on the same PostgreSQL server. The history is seeded
 * through the statistics module's own projection code (`applyEvents`, inbox included, as the
 * consumer applies events that arrived together, 500 per statement) from `order.created` / `order.status_changed`
 * events, which is what the platform would hold after that many orders; only the reads are
 * measured, and they go through the real HTTP endpoint.
 *
 * - 1k: 1,000 orders, 10 for each of the 100 users read;
 * - 100k: 100,000 orders, 500 for each of the same 100 users and 50,000 for 5,000 other users,
 *   so both a user's own history and the store's grow (50× and 100×). 5 % are cancelled.
 *
 * Reads pick one of the 100 users at random; one keep-alive connection, one request at a time
 * (latency without queueing), rounds alternating between the two platforms so that drift on a
 * shared machine hits both. Target: the 100k p50 within 1.2 × the 1k p50.
 */

import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { OrderCreatedSchema, OrderStatusChangedSchema } from "../src/gen/ecommerce/orders/v1/events_pb.js";
import { OrderStatus } from "../src/gen/ecommerce/orders/v1/order_pb.js";
import { applyEvents } from "../src/modules/statistics/statistics-projection.js";
import { mintToken } from "../src/platform/auth/mint-token.js";
import { openDatabase } from "../src/platform/db/database.js";
import { uuidv7 } from "../src/platform/ids.js";
import { createLogger } from "../src/platform/logger.js";
import { createTestDatabase, type TestDatabase } from "../test/support/test-database.js";
import { BENCH_SECRET, runLoad, startPlatform, stopProcess } from "./load.js";

const READ_USERS = 100;
const EVENTS_PER_STATEMENT = 500;

interface Side {
  name: string;
  orders: number;
  port: number;
  /** Orders per read user, then orders spread over other users (10 each). */
  perReadUser: number;
  others: number;
}

const SIDES: Side[] = [
  { name: "1k orders", orders: 1_000, port: 9106, perReadUser: 10, others: 0 },
  { name: "100k orders", orders: 100_000, port: 9107, perReadUser: 500, others: 50_000 },
];

export interface ReadSideFigures {
  name: string;
  orders: number;
  seedSeconds: number;
  requests: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** 50 connections, closed loop. */
  requestsPerSecond: number;
}

export interface StatisticsReadFigures {
  sides: ReadSideFigures[];
  p50Ratio: number;
}

export async function runStatisticsReadBench(
  rounds = 5,
  requestsPerRound = 2_000,
): Promise<StatisticsReadFigures | undefined> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return undefined;
  const databases: TestDatabase[] = [];
  const apps: Awaited<ReturnType<typeof startPlatform>>[] = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), "bench-stats-read-"));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const seeded: { side: Side; seedSeconds: number }[] = [];
    for (const side of SIDES) {
      const database = await createTestDatabase(serverUrl);
      databases.push(database);
      const started = performance.now();
      await seed(database.url, side);
      seeded.push({ side, seedSeconds: (performance.now() - started) / 1000 });
      apps.push(
        await startPlatform(side.port, {
          DATA_DIR: dataDir,
          DATABASE_URL: database.url,
          // The statistics consumer is idle here: no NATS or Redis needed for reads.
          NATS_URL: "",
          REDIS_URL: "",
        }),
      );
    }
    const authorization = `Bearer ${await mintToken(BENCH_SECRET, { sub: "bench-admin", role: "admin" })}`;
    const read = (side: Side) => () => {
      const user = `read-user-${Math.floor(Math.random() * READ_USERS)}`;
      return timedGet(agent, side.port, `/stats/user-orders/${user}`, authorization);
    };

    // Sanity: the figures are there, and equal to what was seeded.
    for (const side of SIDES) {
      const body = await getJson(agent, side.port, "/stats/user-orders/read-user-0", authorization);
      if (body.total_orders !== side.perReadUser) {
        throw new Error(
          `${side.name}: read-user-0 has ${body.total_orders} orders, expected ${side.perReadUser}`,
        );
      }
    }
    // Warm up both (JIT, connection pools, PostgreSQL's buffers).
    for (const side of SIDES) for (let i = 0; i < 1_000; i++) await read(side)();

    const latencies = new Map<string, number[]>(SIDES.map((side) => [side.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const side of SIDES) {
        const samples = latencies.get(side.name) as number[];
        for (let i = 0; i < requestsPerRound; i++) samples.push(await read(side)());
      }
    }
    const throughput = new Map<string, number[]>(SIDES.map((side) => [side.name, []]));
    for (let round = 0; round < 2; round++) {
      for (const side of SIDES) {
        const result = await runLoad({
          url: `http://127.0.0.1:${side.port}/stats/user-orders/read-user-${round}`,
          headers: { authorization },
          connections: 50,
          durationSeconds: 3,
        });
        if (result.non2xx + result.errors > 0)
          throw new Error(`${side.name}: ${result.non2xx} non-2xx answers`);
        throughput.get(side.name)?.push(result.requestsPerSecond);
      }
    }

    const sides = seeded.map(({ side, seedSeconds }): ReadSideFigures => {
      const samples = (latencies.get(side.name) as number[]).sort((a, b) => a - b);
      const rates = throughput.get(side.name) as number[];
      return {
        name: side.name,
        orders: side.orders,
        seedSeconds,
        requests: samples.length,
        p50Ms: quantile(samples, 0.5),
        p90Ms: quantile(samples, 0.9),
        p99Ms: quantile(samples, 0.99),
        requestsPerSecond: rates.reduce((sum, rate) => sum + rate, 0) / rates.length,
      };
    });
    const [small, large] = sides as [ReadSideFigures, ReadSideFigures];
    return { sides, p50Ratio: large.p50Ms / small.p50Ms };
  } finally {
    agent.destroy();
    for (const app of apps) await stopProcess(app);
    rmSync(dataDir, { recursive: true, force: true });
    for (const database of databases) await database.drop();
  }
}

/** Applies the side's history through the projection code, 500 events per statement. */
async function seed(url: string, side: Side): Promise<void> {
  const database = await openDatabase({ url, dataDir: "unused", logger: createLogger("silent") });
  try {
    const owners: string[] = [];
    for (let user = 0; user < READ_USERS; user++) {
      for (let n = 0; n < side.perReadUser; n++) owners.push(`read-user-${user}`);
    }
    for (let n = 0; n < side.others; n++) owners.push(`other-user-${Math.floor(n / 10)}`);
    const start = Date.UTC(2026, 0, 1);
    const events = function* () {
      for (const [index, userId] of owners.entries()) {
        const orderId = uuidv7();
        const totalCents = BigInt(500 + (index % 97) * 37);
        const createdAt = new Date(start + index * 137_000); // spread over the hours of the day
        yield {
          type: OrderCreatedSchema.typeName,
          payload: toBinary(
            OrderCreatedSchema,
            create(OrderCreatedSchema, {
              orderId,
              userId,
              status: OrderStatus.PENDING,
              subtotalCents: totalCents,
              totalCents,
              itemCount: 2,
              createdAt: timestampFromDate(createdAt),
            }),
          ),
        };
        if (index % 20 === 7) {
          yield {
            type: OrderStatusChangedSchema.typeName,
            payload: toBinary(
              OrderStatusChangedSchema,
              create(OrderStatusChangedSchema, {
                orderId,
                userId,
                from: OrderStatus.PENDING,
                to: OrderStatus.CANCELLED,
                totalCents,
                createdAt: timestampFromDate(createdAt),
                changedAt: timestampFromDate(new Date(createdAt.getTime() + 60_000)),
              }),
            ),
          };
        }
      }
    };
    let batch: { id: string; type: string; payload: Uint8Array }[] = [];
    const flush = async () => {
      const events = batch;
      batch = [];
      // As the consumer applies events that arrived together: one statement per batch.
      await applyEvents(database.db, events);
    };
    for (const event of events()) {
      batch.push({ id: uuidv7(), ...event });
      if (batch.length >= EVENTS_PER_STATEMENT) await flush();
    }
    if (batch.length > 0) await flush();
  } finally {
    await database.close();
  }
}

function timedGet(agent: http.Agent, port: number, path: string, authorization: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const request = http.get(
      { agent, host: "127.0.0.1", port, path, headers: { authorization } },
      (response) => {
        response.resume();
        response.on("end", () => {
          if (response.statusCode !== 200) reject(new Error(`GET ${path}: ${response.statusCode}`));
          else resolve(Number(process.hrtime.bigint() - started) / 1e6);
        });
      },
    );
    request.on("error", reject);
  });
}

function getJson(agent: http.Agent, port: number, path: string, authorization: string) {
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    http
      .get({ agent, host: "127.0.0.1", port, path, headers: { authorization } }, (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          text += chunk;
        });
        response.on("end", () => resolve(JSON.parse(text) as Record<string, unknown>));
      })
      .on("error", reject);
  });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

export function printStatisticsReadFigures(figures: StatisticsReadFigures | undefined): void {
  if (figures === undefined) {
    console.log("\nGET /stats/user-orders: skipped (set DATABASE_URL to a PostgreSQL server)");
    return;
  }
  console.log(
    "\nGET /stats/user-orders/:user_id vs history (PostgreSQL; one connection, sequential; rounds alternating)",
  );
  console.log("| history | seeded in | requests | p50 ms | p90 ms | p99 ms | req/s at 50 connections |");
  console.log("|---|---|---|---|---|---|---|");
  for (const side of figures.sides) {
    console.log(
      `| ${side.name} | ${side.seedSeconds.toFixed(1)} s | ${side.requests} | ${side.p50Ms.toFixed(3)} | ${side.p90Ms.toFixed(3)} | ${side.p99Ms.toFixed(3)} | ${Math.round(side.requestsPerSecond)} |`,
    );
  }
  console.log(`p50 ratio 100k / 1k: ${figures.p50Ratio.toFixed(2)} (target ≤ 1.2)`);
}
