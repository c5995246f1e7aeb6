/**
 * Issue 4's event guarantees for the statistics projection, on a private nats-server and a fresh
 * PostgreSQL database:
 *
 * - Nothing lost: 300 orders (some cancelled) with NATS killed for the middle third of the run; the
 *   API keeps answering, and within 10 s of the last order the statistics equal the truth computed
 *   from the orders API.
 * - Nothing doubled: every event already applied is delivered again, twice over: first the relay's
 *   failure mode (the same event, same `Nats-Msg-Id`, published a second time; the test shrinks the
 *   stream's duplicate window so the broker keeps the copy), then a consumer restart that lost its
 *   acks (the statistics durable consumers deleted; the app recreates them from the start of the
 *   stream). The figures stay exact.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type ConsumerInfo, connect, headers, type JetStreamManager, type NatsConnection, nanos } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasServiceUrls } from "./support/deployment.js";
import {
  findNatsServer,
  freePort,
  type NatsServerProcess,
  sleep,
  startNatsServer,
  waitFor,
} from "./support/event-test-support.js";
import { type OrderJson, orderApi } from "./support/order-json.js";
import type { ProductJson } from "./support/product-json.js";
import {
  countProducts,
  expectStoreStats,
  expectUserOrderStats,
  type StoreStatsJson,
  sameJson,
  storeStatsTruth,
  type UserOrderStatsJson,
  userStatsTruth,
} from "./support/statistics-json.js";
import { startTestApp, type TestApp } from "./support/test-app.js";

const binary = findNatsServer();

/** A private nats-server with its own port and store directory, restartable on both. */
class PrivateNats {
  private server: NatsServerProcess | undefined;
  private constructor(
    private readonly bin: string,
    readonly port: number,
    readonly storeDir: string,
  ) {}

  static async start(): Promise<PrivateNats> {
    // Fail (not skip) when the binary is missing: the guarantee must be tested.
    if (!binary) throw new Error("nats-server is not installed (set NATS_SERVER_BIN or put it on PATH)");
    const nats = new PrivateNats(binary, await freePort(), mkdtempSync(path.join(tmpdir(), "stats-outage-")));
    await nats.restart();
    return nats;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    this.server = await startNatsServer(this.bin, this.port, this.storeDir);
  }

  /** SIGKILL: a crash, not a shutdown. */
  async kill(): Promise<void> {
    await this.server?.kill("SIGKILL");
    this.server = undefined;
  }

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

/** Statistics reads and the truth from the orders API, for one running app. */
function statisticsOf(getApp: () => TestApp) {
  const api = orderApi(getApp);
  const { call } = api;

  /**
   * One read of a user's statistics. A torn read (the buckets not adding up to the total) is
   * returned unchecked, so a poll treats it as "not there yet" instead of aborting; the dedicated
   * snapshot test below is what fails if the read path ever tears again.
   */
  async function readUser(userId: string): Promise<UserOrderStatsJson> {
    const result = await call("GET", `/stats/user-orders/${encodeURIComponent(userId)}`, {
      token: getApp().adminToken,
    });
    expect(result.status, result.text).toBe(200);
    if (isTorn(result.body as UserOrderStatsJson)) return result.body as UserOrderStatsJson;
    return expectUserOrderStats(result);
  }

  async function readStore(): Promise<StoreStatsJson> {
    return expectStoreStats(await call("GET", "/stats/user", { token: getApp().adminToken }));
  }

  interface Snapshot {
    users: Record<string, UserOrderStatsJson>;
    store: StoreStatsJson;
  }

  async function read(userIds: string[]): Promise<Snapshot> {
    const users: Record<string, UserOrderStatsJson> = {};
    for (const userId of userIds) users[userId] = await readUser(userId);
    return { users, store: await readStore() };
  }

  /** Every order (all pages, as admin) and every product: what the statistics must say. */
  async function truth(userIds: string[]): Promise<Snapshot & { orders: OrderJson[] }> {
    const orders = await api.listAll(getApp().adminToken, { page_size: "100" });
    const users: Record<string, UserOrderStatsJson> = {};
    for (const userId of userIds)
      users[userId] = userStatsTruth(
        userId,
        orders.filter((order) => order.user_id === userId),
      );
    const store = storeStatsTruth(orders, await countProducts((p) => call("GET", p)));
    return { users, store, orders };
  }

  /** Polls until the statistics equal `expected` or the deadline passes; asserts with a diff. */
  async function expectToBecome(
    userIds: string[],
    expected: Snapshot,
    deadline: number,
  ): Promise<{ elapsedMs: number }> {
    const start = Date.now();
    let seen = await read(userIds);
    while (!sameJson(seen, expected) && Date.now() < deadline) {
      await sleep(100);
      seen = await read(userIds);
    }
    expect(seen).toEqual(expected);
    return { elapsedMs: Date.now() - start };
  }

  return { api, readUser, read, truth, expectToBecome };
}

/** A user's statistics whose hourly buckets do not add up to its total: two moments mixed. */
function isTorn(stats: UserOrderStatsJson): boolean {
  if (!Array.isArray(stats.orders_by_hour)) return false;
  return stats.orders_by_hour.reduce((sum, bucket) => sum + bucket.count, 0) !== stats.total_orders;
}

/** Runs `task(0..count-1)` with at most `limit` in flight, in index order. */
async function runBounded(
  count: number,
  limit: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: limit }, async () => {
    while (next < count) {
      const index = next++;
      await task(index);
    }
  });
  await Promise.all(workers);
}

interface Shop {
  products: ProductJson[];
  customers: { sub: string; token: string }[];
}

async function openShop(stats: ReturnType<typeof statisticsOf>, customers: number): Promise<Shop> {
  const prices = [1250, 799, 4999, 305];
  const products: ProductJson[] = [];
  for (const price of prices)
    products.push(await stats.api.createProduct({ price_cents: price, stock: 100_000 }));
  const people: { sub: string; token: string }[] = [];
  for (let index = 0; index < customers; index++) people.push(await stats.api.newCustomer("stats-outage"));
  return { products, customers: people };
}

/**
 * Places order number `index` for a customer of the shop, with one or two lines, and moves some of
 * them on: every 7th is cancelled by its customer, every 11th paid then cancelled by an admin,
 * every 5th paid. Asserts each answer (201 / 200), so a call failing during an outage fails the test.
 */
async function placeOrder(
  stats: ReturnType<typeof statisticsOf>,
  shop: Shop,
  adminToken: string,
  index: number,
): Promise<void> {
  const customer = shop.customers[index % shop.customers.length] as { sub: string; token: string };
  const first = shop.products[index % shop.products.length] as ProductJson;
  const second = shop.products[(index + 1) % shop.products.length] as ProductJson;
  const items = [{ product_id: first.id, quantity: 1 + (index % 3) }];
  if (index % 2 === 0) items.push({ product_id: second.id, quantity: 1 });
  const created = await stats.api.postOrder(customer.token, { items });
  expect(created.status, `order ${index}: ${created.text}`).toBe(201);
  const order = created.body as OrderJson;
  const move = async (token: string, status: string) => {
    const result = await stats.api.setStatus(token, order.id, status);
    expect(result.status, `order ${index} → ${status}: ${result.text}`).toBe(200);
  };
  if (index % 7 === 0) {
    await move(customer.token, "cancelled");
  } else if (index % 11 === 0) {
    await move(adminToken, "paid");
    await move(adminToken, "cancelled");
  } else if (index % 5 === 0) {
    await move(adminToken, "paid");
  }
}

describe.skipIf(!hasServiceUrls())("statistics across a NATS outage (services)", () => {
  let nats: PrivateNats;
  let app: TestApp;
  const stats = statisticsOf(() => app);

  beforeAll(async () => {
    nats = await PrivateNats.start();
    app = await startTestApp("services", { NATS_URL: nats.url });
  });

  afterAll(async () => {
    await app?.stop();
    await nats?.dispose();
  });

  it("nothing lost: 300 orders with NATS killed for a third of them equal the truth within 10 s", async () => {
    const shop = await openShop(stats, 5);
    const userIds = shop.customers.map((customer) => customer.sub);
    const TOTAL = 300;
    const BATCH = 100;

    // Before: NATS up.
    await runBounded(BATCH, 10, (index) => placeOrder(stats, shop, app.adminToken, index));

    // During: NATS crashed; the API must keep answering 201 (events wait in the outbox).
    await nats.kill();
    await waitFor(
      "/readyz to report NATS down",
      async () => (await fetch(`${app.baseUrl}/readyz`)).status === 503,
      10_000,
    );
    await runBounded(BATCH, 10, (index) => placeOrder(stats, shop, app.adminToken, BATCH + index));
    // While NATS is down the projection cannot have seen these orders (the test is not vacuous).
    const during = await stats.read(userIds);
    expect(during.store.total_orders).toBeLessThanOrEqual(BATCH);

    // After: NATS back on the same port and store; orders go on meanwhile.
    await nats.restart();
    await runBounded(TOTAL - 2 * BATCH, 10, (index) =>
      placeOrder(stats, shop, app.adminToken, 2 * BATCH + index),
    );
    const deadline = Date.now() + 10_000;

    const expected = await stats.truth(userIds);
    expect(expected.orders).toHaveLength(TOTAL);
    expect(expected.store.total_users).toBe(userIds.length);
    expect(expected.store.total_products).toBe(shop.products.length);
    expect(expected.orders.filter((order) => order.status === "cancelled").length).toBeGreaterThan(40);
    await stats.expectToBecome(userIds, { users: expected.users, store: expected.store }, deadline);
  }, 60_000);

  it("reads a user's statistics as one snapshot while events are being applied (no torn reads)", async () => {
    const shop = await openShop(stats, 1);
    const userId = (shop.customers[0] as { sub: string }).sub;
    let placing = true;
    const reads: UserOrderStatsJson[] = [];
    const readers = Array.from({ length: 3 }, async () => {
      while (placing) reads.push(await stats.readUser(userId));
    });
    try {
      await runBounded(150, 10, (index) => placeOrder(stats, shop, app.adminToken, index));
      const expected = await stats.truth([userId]);
      await stats.expectToBecome(
        [userId],
        { users: expected.users, store: expected.store },
        Date.now() + 10_000,
      );
    } finally {
      placing = false;
      await Promise.all(readers);
    }
    const torn = reads.filter(isTorn);
    expect(reads.length).toBeGreaterThan(50);
    expect(
      torn.map((read) => ({
        total_orders: read.total_orders,
        sum_of_buckets: read.orders_by_hour.reduce((sum, bucket) => sum + bucket.count, 0),
      })),
      `${torn.length} of ${reads.length} reads mixed two moments`,
    ).toEqual([]);
  }, 60_000);
});

describe.skipIf(!hasServiceUrls())("statistics under redelivery (services)", () => {
  let nats: PrivateNats;
  let app: TestApp;
  let client: NatsConnection;
  let jsm: JetStreamManager;
  const stats = statisticsOf(() => app);

  beforeAll(async () => {
    nats = await PrivateNats.start();
    app = await startTestApp("services", { NATS_URL: nats.url });
    client = await connect({ servers: nats.url });
    jsm = await client.jetstreamManager();
  });

  afterAll(async () => {
    await client?.close();
    await app?.stop();
    await nats?.dispose();
  });

  const streamName = () => `${app.namespace}_events`;

  /** The app's statistics durable consumers (`<ns>_statistics-<source>_<hash>`). */
  async function statisticsConsumers(): Promise<ConsumerInfo[]> {
    const found: ConsumerInfo[] = [];
    for await (const info of jsm.consumers.list(streamName())) {
      if (info.name.includes("_statistics-")) found.push(info);
    }
    return found.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Waits until both statistics consumers exist and have delivered and had acknowledged every
   * event of their subjects up to the stream's last sequence; returns their infos.
   */
  async function waitConsumersCaughtUp(what: string, timeoutMs = 20_000): Promise<ConsumerInfo[]> {
    let infos: ConsumerInfo[] = [];
    await waitFor(
      what,
      async () => {
        infos = await statisticsConsumers();
        return (
          infos.length === 2 && infos.every((info) => info.num_pending === 0 && info.num_ack_pending === 0)
        );
      },
      timeoutMs,
    );
    return infos;
  }

  it("nothing doubled: the same events published twice and redelivered after lost acks leave the counts exact", async () => {
    const shop = await openShop(stats, 3);
    const userIds = shop.customers.map((customer) => customer.sub);
    await runBounded(40, 10, (index) => placeOrder(stats, shop, app.adminToken, index));
    const expected = await stats.truth(userIds);
    const snapshot = { users: expected.users, store: expected.store };
    expect(expected.orders).toHaveLength(40);
    await stats.expectToBecome(userIds, snapshot, Date.now() + 10_000);
    await waitConsumersCaughtUp("statistics consumers to apply every event");

    // 1. The relay publishes the same events again (same Nats-Msg-Id, so the same event id). The
    //    broker would drop them within its duplicate window, so shrink the window for the copies.
    const stream = streamName();
    const before = await jsm.streams.info(stream);
    const originalConfig = before.config;
    const { first_seq: firstSeq, last_seq: lastSeq } = before.state;
    expect(before.state.messages).toBeGreaterThanOrEqual(40 + shop.products.length);
    await jsm.streams.update(stream, { ...originalConfig, duplicate_window: nanos(200) });
    await sleep(1_000);
    const js = client.jetstream();
    let copies = 0;
    try {
      for (let seq = firstSeq; seq <= lastSeq; seq++) {
        const stored = await jsm.streams.getMessage(stream, { seq });
        const h = headers();
        for (const [key, values] of stored.header) for (const value of values) h.append(key, value);
        const eventId = stored.header.get("Nats-Msg-Id");
        expect(eventId, `message ${seq} has an event id`).not.toBe("");
        h.delete("Nats-Msg-Id");
        const ack = await js.publish(stored.subject, stored.data, { msgID: eventId, headers: h });
        expect(ack.duplicate, `copy of ${eventId} kept by the broker`).toBe(false);
        copies++;
      }
    } finally {
      await jsm.streams.update(stream, originalConfig);
    }
    const afterCopies = await jsm.streams.info(stream);
    expect(afterCopies.state.messages).toBe(before.state.messages + copies);
    const caughtUp = await waitConsumersCaughtUp("statistics consumers to take every copy");
    for (const info of caughtUp) expect(info.delivered.stream_seq).toBeGreaterThan(lastSeq);
    expect(await stats.read(userIds)).toEqual(snapshot);

    // 2. A consumer restart that lost its acks: delete the statistics durables; the app recreates
    //    them (deliver all) and every event, originals and copies, is delivered once more.
    const durables = await statisticsConsumers();
    expect(durables.map((info) => info.name)).toEqual([
      expect.stringMatching(/_statistics-orders_[0-9a-f]{10}$/),
      expect.stringMatching(/_statistics-products_[0-9a-f]{10}$/),
    ]);
    for (const info of durables) await jsm.consumers.delete(stream, info.name);
    const redelivered = await waitConsumersCaughtUp("statistics consumers recreated and redelivered", 30_000);
    // The recreated consumers started from the first event: each saw every message of its subjects.
    const perSubject = (await jsm.streams.info(stream, { subjects_filter: ">" })).state.subjects ?? {};
    for (const info of redelivered) {
      const filter = (info.config.filter_subject ?? "").replace(/>$/, "");
      const count = Object.entries(perSubject)
        .filter(([subject]) => subject.startsWith(filter))
        .reduce((sum, [, n]) => sum + n, 0);
      expect(count, info.name).toBeGreaterThan(0);
      expect(info.delivered.consumer_seq, info.name).toBe(count);
    }
    // Stays exact (read a few times, not once).
    for (let round = 0; round < 5; round++) {
      expect(await stats.read(userIds)).toEqual(snapshot);
      await sleep(100);
    }

    // 3. And it still follows new orders exactly.
    await runBounded(10, 5, (index) => placeOrder(stats, shop, app.adminToken, 40 + index));
    const later = await stats.truth(userIds);
    expect(later.orders).toHaveLength(50);
    await stats.expectToBecome(userIds, { users: later.users, store: later.store }, Date.now() + 10_000);
  }, 60_000);
});
