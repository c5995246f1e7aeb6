/**
 * How long an order takes to show in the statistics under a sustained load, on real PostgreSQL
 * and NATS JetStream (and Redis when REDIS_URL is set): orders are placed through the REST API at
 * a fixed rate (300/s by default, open loop: requests leave on schedule whether or not earlier ones
 * have been answered) for `durationSeconds`, after a short warm-up at the same rate.
 *
 * Two measurements, both without any test hook in the platform:
 *
 * - every order: from the occurred-at of its `order.created` event (PostgreSQL's `now()` in the
 *   statement that stored the order, read from the event on the stream) to `applied_at` of that
 *   event id in the statistics inbox (PostgreSQL's `now()` in the one statement that applied the
 *   event, which commits right after). One machine's clock; it counts the order statement's own
 *   milliseconds and misses the statistics statement's commit (about as long), so it is close to
 *   "commit → visible". The part until JetStream stored the event (the stream's own timestamp of
 *   the message) is shown on its own;
 * - probes, as a client sees it: twice a second one of the scheduled orders is placed for a user of
 *   its own, and `GET /stats/user-orders/:user` is polled every 5 ms (every 100 ms after the first
 *   half second, and at most 4 probes at a time, so that a large lag does not turn the probes into
 *   a load of their own) from the moment the 201 arrives until it counts the order. That is the
 *   lag a client can observe, give or take the poll period.
 *
 * Then, for comparison, the statistics consumer alone: the same rate of `order.created` events
 * published straight to JetStream (no orders, no HTTP, the platform stopped), published → applied.
 *
 * Target: p99 ≤ 100 ms at 300 orders/s. BENCH_ORDER_RATE and BENCH_LAG_SECONDS change the load;
 * BENCH_LAG_DEBUG=1 also prints the lag per second of the run (where a backlog builds up).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { connect } from "nats";
import postgres from "postgres";
import { Registry } from "prom-client";
import { OrderCreatedSchema } from "../src/gen/ecommerce/orders/v1/events_pb.js";
import { OrderStatus } from "../src/gen/ecommerce/orders/v1/order_pb.js";
import { StatisticsConsumer } from "../src/modules/statistics/statistics-consumer.js";
import { mintToken } from "../src/platform/auth/mint-token.js";
import { openDatabase } from "../src/platform/db/database.js";
import { createJetStreamBus } from "../src/platform/events/jetstream-bus.js";
import { EVENT_OCCURRED_AT_HEADER, MSG_ID_HEADER } from "../src/platform/events/jetstream-message.js";
import { streamNameFor } from "../src/platform/events/jetstream-names.js";
import { uuidv7 } from "../src/platform/ids.js";
import { createLogger } from "../src/platform/logger.js";
import { deleteStream } from "../test/support/deployment.js";
import { createTestDatabase, uniqueNamespace } from "../test/support/test-database.js";
import { BENCH_SECRET, startPlatform, stopProcess } from "./load.js";

const APP_PORT = 9105;
const PRODUCTS = 100;
const USERS = 1_000;
const PROBES_PER_SECOND = 2;
/** Orders in flight at most: beyond it the generator waits (and reports the rate it achieved). */
const MAX_IN_FLIGHT = 200;
/** Poll period while a probe is young; it backs off to PROBE_SLOW_POLL_MS after PROBE_FAST_MS. */
const PROBE_POLL_MS = 5;
const PROBE_FAST_MS = 500;
const PROBE_SLOW_POLL_MS = 100;
/** Probes polling at once at most, so that a large lag does not turn the probes into a load. */
const MAX_PROBES = 4;

export interface LagFigures {
  ratePerSecond: number;
  durationSeconds: number;
  /** Orders placed in the measured window, and how many were not answered 201. */
  placed: number;
  failed: number;
  /** Answers by status (or error), over the window. */
  answers: Record<string, number>;
  /** Achieved rate of 201 answers over the window. */
  achievedPerSecond: number;
  /** POST /orders latency over the window. */
  orderP50Ms: number;
  orderP99Ms: number;
  /** The event's occurred-at → inbox applied_at, every order of the window. */
  db: Percentiles;
  /** Part of `db`: occurred-at → JetStream stored the event (the relay published it). */
  relay: Percentiles;
  /** 201 received → GET /stats/user-orders counts it, probe orders only. */
  api: Percentiles;
  /**
   * The statistics consumer alone, for comparison: `order.created` events published straight to
   * JetStream at the same rate (no orders, no HTTP), published → applied (inbox applied_at).
   */
  consumerAlone: Percentiles;
  redis: boolean;
}

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export async function runStatisticsLagBench(
  durationSeconds = 20,
  ratePerSecond = Number(process.env.BENCH_ORDER_RATE ?? 300),
): Promise<LagFigures | undefined> {
  const { DATABASE_URL: serverUrl, NATS_URL: natsUrl, REDIS_URL: redisUrl } = process.env;
  if (!serverUrl || !natsUrl) return undefined;
  const endToEnd = await runThroughThePlatform(serverUrl, natsUrl, redisUrl, durationSeconds, ratePerSecond);
  const consumerAlone = await runConsumerAlone(serverUrl, natsUrl, durationSeconds, ratePerSecond);
  return { ...endToEnd, consumerAlone };
}

async function runThroughThePlatform(
  serverUrl: string,
  natsUrl: string,
  redisUrl: string | undefined,
  durationSeconds: number,
  ratePerSecond: number,
): Promise<Omit<LagFigures, "consumerAlone">> {
  const database = await createTestDatabase(serverUrl);
  const namespace = uniqueNamespace("bench");
  const dataDir = mkdtempSync(path.join(tmpdir(), "bench-stats-lag-"));
  const base = `http://127.0.0.1:${APP_PORT}`;
  const app = await startPlatform(APP_PORT, {
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    NATS_URL: natsUrl,
    NAMESPACE: namespace,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  });
  const sql = postgres(database.url, { max: 2, onnotice: () => {} });
  try {
    const admin = `Bearer ${await mintToken(BENCH_SECRET, { sub: "bench-admin", role: "admin" })}`;
    const json = { authorization: admin, "content-type": "application/json" };
    const ids: string[] = [];
    for (let index = 0; index < PRODUCTS; index++) {
      const response = await fetch(`${base}/products`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ name: `Product ${index}`, price_cents: 1000 + index, stock: 10_000_000 }),
      });
      ids.push(((await response.json()) as { id: string }).id);
    }

    let sequence = 0;
    const statuses = new Map<string, number>();
    const placeOrder = async (userId: string): Promise<{ ok: boolean; ms: number }> => {
      const first = Math.floor(Math.random() * PRODUCTS);
      const second = (first + 1 + Math.floor(Math.random() * (PRODUCTS - 1))) % PRODUCTS;
      const started = performance.now();
      try {
        const response = await fetch(`${base}/orders`, {
          method: "POST",
          headers: json,
          body: JSON.stringify({
            user_id: userId,
            items: [
              { product_id: ids[first], quantity: 1 },
              { product_id: ids[second], quantity: 1 },
            ],
          }),
        });
        await response.arrayBuffer();
        statuses.set(String(response.status), (statuses.get(String(response.status)) ?? 0) + 1);
        return { ok: response.status === 201, ms: performance.now() - started };
      } catch (error) {
        const name = (error as Error).cause ? String((error as Error).cause) : String(error);
        statuses.set(name, (statuses.get(name) ?? 0) + 1);
        return { ok: false, ms: performance.now() - started };
      }
    };

    /** Polls the probe user's statistics from now until they count one order; the lag in ms. */
    const waitVisible = async (userId: string): Promise<number | undefined> => {
      const from = performance.now();
      while (performance.now() - from < 120_000) {
        const response = await fetch(`${base}/stats/user-orders/${userId}`, {
          headers: { authorization: admin },
        });
        const body = (await response.json()) as { total_orders?: number };
        if (body.total_orders === 1) return performance.now() - from;
        const period = performance.now() - from < PROBE_FAST_MS ? PROBE_POLL_MS : PROBE_SLOW_POLL_MS;
        await new Promise((resolve) => setTimeout(resolve, period));
      }
      return undefined;
    };

    /** Places orders at `rate` per second for `seconds`, every `probeEvery`-th one as a probe. */
    const drive = async (seconds: number, measured: boolean) => {
      const total = Math.round(seconds * ratePerSecond);
      const probeEvery = Math.max(1, Math.round(ratePerSecond / PROBES_PER_SECOND));
      const latencies: number[] = [];
      const probeLags: number[] = [];
      const inFlight: Promise<void>[] = [];
      let pending = 0;
      let probing = 0;
      statuses.clear();
      let failed = 0;
      let ok = 0;
      const started = performance.now();
      for (let sent = 0; sent < total; ) {
        const due = Math.min(total, Math.floor(((performance.now() - started) * ratePerSecond) / 1000) + 1);
        for (; sent < due && pending < MAX_IN_FLIGHT; sent++) {
          const n = sequence++;
          const probe = measured && sent % probeEvery === 0 && probing < MAX_PROBES;
          if (probe) probing++;
          const userId = probe ? `probe-${namespace}-${n}` : `bench-user-${n % USERS}`;
          pending++;
          inFlight.push(
            placeOrder(userId).then(async (result) => {
              pending--;
              latencies.push(result.ms);
              if (result.ok) ok++;
              else failed++;
              if (probe) {
                const lag = result.ok ? await waitVisible(userId) : undefined;
                if (lag !== undefined) probeLags.push(lag);
                probing--;
              }
            }),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const sendingMs = performance.now() - started;
      await Promise.all(inFlight);
      return { total, failed, ok, latencies, probeLags, sendingMs, statuses: Object.fromEntries(statuses) };
    };

    await drive(Math.min(3, durationSeconds / 4), false); // warm-up: JIT, pools, consumers
    const databaseNow = async () => ((await sql<{ now: Date }[]>`select now()`)[0] as { now: Date }).now;
    const windowStart = await databaseNow();
    const run = await drive(durationSeconds, true);
    const windowEnd = await databaseNow();

    // Wait for the relay to have published every order (the outbox keeps a row until then), then
    // for the statistics to have applied every order of the window.
    const deadline = Date.now() + 120_000;
    const waitFor = async (what: string, waiting: () => Promise<number>) => {
      for (;;) {
        const left = await waiting();
        if (left === 0) return;
        if (Date.now() > deadline) throw new Error(`${left} order events never ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    await waitFor("left the outbox", async () => {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from orders.outbox where type = 'ecommerce.orders.v1.OrderCreated'`;
      return row?.n ?? 0;
    });
    const [from, to] = [windowStart.getTime(), windowEnd.getTime()];
    const created = (await orderCreatedOnStream(natsUrl, namespace)).filter(
      (event) => event.occurredMs >= from && event.occurredMs <= to,
    );
    const eventIds = created.map((event) => event.id);
    await waitFor("reached the statistics", async () => {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from statistics.inbox where event_id = any(${eventIds}::uuid[])`;
      return eventIds.length - (row?.n ?? 0);
    });
    const appliedAt = new Map(
      (
        await sql<{ id: string; appliedAt: Date }[]>`
          select event_id::text as id, applied_at as "appliedAt" from statistics.inbox
          where event_id = any(${eventIds}::uuid[])`
      ).map((row) => [row.id, row.appliedAt.getTime()]),
    );
    const lags = created.map((event) => ({
      second: Math.floor(event.occurredMs / 1000),
      ms: (appliedAt.get(event.id) as number) - event.occurredMs,
      relayMs: event.storedMs - event.occurredMs,
    }));
    if (process.env.BENCH_LAG_DEBUG) {
      const perSecond = new Map<number, { n: number; ms: number; relayMs: number }>();
      for (const lag of lags) {
        const sums = perSecond.get(lag.second) ?? { n: 0, ms: 0, relayMs: 0 };
        perSecond.set(lag.second, {
          n: sums.n + 1,
          ms: sums.ms + lag.ms,
          relayMs: sums.relayMs + lag.relayMs,
        });
      }
      console.table(
        [...perSecond].map(([second, sums]) => ({
          second: new Date(second * 1000).toISOString(),
          n: sums.n,
          avg_ms: Math.round(sums.ms / sums.n),
          relay_ms: Math.round(sums.relayMs / sums.n),
        })),
      );
    }
    return {
      ratePerSecond,
      durationSeconds,
      placed: run.total,
      failed: run.failed,
      answers: run.statuses,
      achievedPerSecond: run.ok / (run.sendingMs / 1000),
      orderP50Ms: percentile(run.latencies, 0.5),
      orderP99Ms: percentile(run.latencies, 0.99),
      db: summarize(lags.map((row) => row.ms)),
      relay: summarize(lags.map((row) => row.relayMs)),
      api: summarize(run.probeLags),
      redis: Boolean(redisUrl),
    };
  } finally {
    await sql.end();
    await stopProcess(app);
    rmSync(dataDir, { recursive: true, force: true });
    await database.drop();
    await deleteStream(natsUrl, namespace);
  }
}

/**
 * Every `order.created` event on the deployment's stream (headers only): its id, when its order
 * committed (the event's occurred-at) and when JetStream stored it, in ms since the epoch.
 */
async function orderCreatedOnStream(
  natsUrl: string,
  namespace: string,
): Promise<{ id: string; occurredMs: number; storedMs: number }[]> {
  const nc = await connect({ servers: natsUrl });
  try {
    const consumer = await nc.jetstream().consumers.get(streamNameFor(namespace), {
      filterSubjects: `${namespace}.orders.order.created`,
      headers_only: true,
    });
    const events: { id: string; occurredMs: number; storedMs: number }[] = [];
    const messages = await consumer.consume();
    for await (const msg of messages) {
      events.push({
        id: msg.headers?.get(MSG_ID_HEADER) ?? "",
        occurredMs: Date.parse(msg.headers?.get(EVENT_OCCURRED_AT_HEADER) ?? ""),
        storedMs: msg.info.timestampNanos / 1e6,
      });
      if (msg.info.pending === 0) break;
    }
    messages.stop();
    return events;
  } finally {
    await nc.close();
  }
}

/** Publishes `order.created` events straight to JetStream at `ratePerSecond`; the consumer runs here. */
async function runConsumerAlone(
  serverUrl: string,
  natsUrl: string,
  durationSeconds: number,
  ratePerSecond: number,
): Promise<Percentiles> {
  const logger = createLogger("warn");
  const testDatabase = await createTestDatabase(serverUrl);
  const database = await openDatabase({ url: testDatabase.url, dataDir: "unused", logger });
  const namespace = uniqueNamespace("bench");
  const consumerBus = createJetStreamBus({ url: natsUrl, namespace, logger });
  const publisher = createJetStreamBus({ url: natsUrl, namespace, logger });
  const consumer = new StatisticsConsumer(database.db, consumerBus, logger, new Registry());
  const sql = postgres(testDatabase.url, { max: 1, onnotice: () => {} });
  try {
    await Promise.all([consumerBus.ready(), publisher.ready()]);
    await consumer.start();
    const sentAt = new Map<string, number>();
    const publishes: Promise<void>[] = [];
    const total = Math.round(durationSeconds * ratePerSecond);
    const started = performance.now();
    for (let sent = 0; sent < total; ) {
      const due = Math.min(total, Math.floor(((performance.now() - started) * ratePerSecond) / 1000) + 1);
      for (; sent < due; sent++) {
        const id = uuidv7();
        const payload = toBinary(
          OrderCreatedSchema,
          create(OrderCreatedSchema, {
            orderId: uuidv7(),
            userId: `bench-user-${sent % USERS}`,
            status: OrderStatus.PENDING,
            subtotalCents: 2000n,
            totalCents: 2000n,
            itemCount: 2,
            createdAt: timestampFromDate(new Date()),
          }),
        );
        sentAt.set(id, Date.now());
        publishes.push(
          publisher.publish({
            id,
            type: OrderCreatedSchema.typeName,
            subject: "orders.order.created",
            payload,
            occurredAt: new Date(),
          }),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await Promise.all(publishes);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const [row] = await sql<{ applied: number }[]>`select count(*)::int as applied from statistics.inbox`;
      if ((row?.applied ?? 0) >= total) break;
      if (Date.now() > deadline) throw new Error(`only ${row?.applied} of ${total} events applied`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const rows = await sql<{ id: string; appliedAt: Date }[]>`
      select event_id::text as id, applied_at as "appliedAt" from statistics.inbox`;
    return summarize(rows.map((row) => row.appliedAt.getTime() - (sentAt.get(row.id) ?? Number.NaN)));
  } finally {
    await sql.end();
    await consumer.stop();
    await consumerBus.close();
    await publisher.close();
    await database.close();
    await testDatabase.drop();
    await deleteStream(natsUrl, namespace);
  }
}

function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

function summarize(values: number[]): Percentiles {
  return {
    count: values.length,
    p50: percentile(values, 0.5),
    p99: percentile(values, 0.99),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
  };
}

export function printStatisticsLagFigures(figures: LagFigures | undefined): void {
  if (figures === undefined) {
    console.log("\nstatistics lag: skipped (set DATABASE_URL and NATS_URL)");
    return;
  }
  const ms = (value: number) => value.toFixed(1);
  console.log(
    `\nstatistics lag: ${figures.ratePerSecond} orders/s for ${figures.durationSeconds} s through POST /orders ` +
      `(PostgreSQL + NATS JetStream${figures.redis ? " + Redis" : ""})`,
  );
  console.log(
    `orders placed ${figures.placed}, not 201: ${figures.failed} ${JSON.stringify(figures.answers)}, achieved ${Math.round(figures.achievedPerSecond)}/s, ` +
      `POST /orders p50 ${ms(figures.orderP50Ms)} ms p99 ${ms(figures.orderP99Ms)} ms`,
  );
  console.log("| measure | samples | p50 ms | p99 ms | max ms |");
  console.log("|---|---|---|---|---|");
  for (const [name, value] of [
    ["order committed → applied (the event's occurred-at → inbox applied_at), every order", figures.db],
    ["  of which: order committed → stored by JetStream (the relay published it)", figures.relay],
    ["201 received → visible in GET /stats/user-orders (polling), probes", figures.api],
    ["statistics consumer alone: published to JetStream → applied (no order traffic)", figures.consumerAlone],
  ] as const) {
    console.log(`| ${name} | ${value.count} | ${ms(value.p50)} | ${ms(value.p99)} | ${ms(value.max)} |`);
  }
  console.log(`target: p99 ≤ 100 ms (every-order p99 ${ms(figures.db.p99)} ms)`);
}
