/**
 * The reservation-expiry job: it releases what it claims, stops after the batch in hand, and, with
 * several processes on one database, releases each expired reservation once in total (proven on
 * real PostgreSQL: PGlite runs one transaction at a time).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, waitFor } from "../../../test/support/event-test-support.js";
import { createTestDatabase, type TestDatabase } from "../../../test/support/test-database.js";
import { type Database, openDatabase } from "../../platform/db/database.js";
import { createLogger } from "../../platform/logger.js";
import { ProductStore } from "./product-store.js";
import { startReservationExpiry } from "./reservation-expiry.js";
import { ReservationStore } from "./reservation-store.js";

const logger = createLogger("silent");
describe("reservation expiry job", () => {
  it("releases every reservation it claims, and claims again after a full batch", async () => {
    const waiting = Array.from({ length: 130 }, (_, i) => `order-${i}`);
    const released: string[] = [];
    const job = startReservationExpiry({
      expired: async (_now, limit) => waiting.splice(0, limit),
      release: async (orderId) => {
        released.push(orderId);
      },
      logger,
      intervalMs: 10,
    });
    await waitFor("all released", () => released.length === 130);
    await job.stop();
    expect(released).toEqual(Array.from({ length: 130 }, (_, i) => `order-${i}`));
  });

  it("stop() lets the claimed batch finish and claims no further one", async () => {
    let claims = 0;
    const released: string[] = [];
    const job = startReservationExpiry({
      // Always a full batch: without a stop it would go on claiming.
      expired: async (_now, limit) => {
        claims++;
        return Array.from({ length: limit }, (_, i) => `c${claims}-${i}`);
      },
      release: async (orderId) => {
        await sleep(1);
        released.push(orderId);
      },
      logger,
      intervalMs: 10,
    });
    await waitFor("the first release", () => released.length > 0);
    await job.stop();
    expect(claims).toBe(1);
    expect(released).toHaveLength(100);
    await sleep(50);
    expect(claims).toBe(1);
  });

  it("a release that fails does not keep the rest of the batch from being released", async () => {
    let batches = 0;
    const released: string[] = [];
    const job = startReservationExpiry({
      expired: async () => (batches++ === 0 ? ["a", "b", "c"] : []),
      release: async (orderId) => {
        if (orderId === "b") throw new Error("database blip");
        released.push(orderId);
      },
      logger,
      intervalMs: 10,
    });
    await waitFor("the batch", () => released.length === 2);
    await job.stop();
    expect(released).toEqual(["a", "c"]);
  });
});

let fresh: TestDatabase;
const opened: Database[] = [];
/** A store on a connection pool of its own, as another process would have. */
const process_ = async () => {
  const database = await openDatabase({ url: fresh.url, dataDir: "unused", logger, maxConnections: 5 });
  opened.push(database);
  return { products: new ProductStore(database.db), reservations: new ReservationStore(database.db) };
};
const past = () => new Date(Date.now() - 60_000);

/** A fresh database for the tests of the describe block it is called in; `process_` opens stores on it. */
function useFreshDatabase(): void {
  beforeAll(async () => {
    fresh = await createTestDatabase(process.env.DATABASE_URL as string);
  });
  afterAll(async () => {
    await Promise.allSettled(opened.splice(0).map((database) => database.close()));
    await fresh?.drop();
  });
}

const onPostgres = describe.skipIf(!process.env.DATABASE_URL);

onPostgres("reservation expiry on PostgreSQL, several processes: claiming", () => {
  useFreshDatabase();

  it("processes claiming at once get disjoint sets that cover every expired reservation", async () => {
    const [a, b] = [await process_(), await process_()];
    const product = await a.products.create({
      name: "Item",
      description: "",
      category: "",
      priceCents: 100n,
      stock: 1000,
    });
    const orderIds = Array.from({ length: 80 }, (_, i) => `claim-${product.id}-${i}`);
    for (const orderId of orderIds)
      await a.reservations.reserve(orderId, [{ productId: product.id, quantity: 1 }], 1000, { now: past() });
    // A reservation that has not expired yet is never claimed.
    await a.reservations.reserve(`fresh-${product.id}`, [{ productId: product.id, quantity: 1 }], 60_000);

    const claimAll = async (store: ReservationStore) => {
      const mine: string[] = [];
      for (;;) {
        const batch = await store.expired(new Date(), 3);
        if (batch.length === 0) return mine;
        mine.push(...batch);
      }
    };
    const claimed = await Promise.all([a, b, a, b].map((p) => claimAll(p.reservations)));
    const all = claimed.flat().filter((id) => id.startsWith("claim-"));
    expect(all.sort()).toEqual([...orderIds].sort());
    expect(new Set(all).size).toBe(all.length);
    expect(claimed.flat()).not.toContain(`fresh-${product.id}`);
    expect(claimed.filter((ids) => ids.length > 0).length).toBeGreaterThan(1);
  });

  it("a claim hides a reservation for its lease; once the lease is over it can be claimed again", async () => {
    const { products, reservations } = await process_();
    const product = await products.create({
      name: "Item",
      description: "",
      category: "",
      priceCents: 100n,
      stock: 10,
    });
    const orderId = `lease-${product.id}`;
    await reservations.reserve(orderId, [{ productId: product.id, quantity: 1 }], 1000, { now: past() });
    const now = new Date();
    expect(await reservations.expired(now, 100, 30_000)).toContain(orderId);
    expect(await reservations.expired(now, 100, 30_000)).not.toContain(orderId);
    // The claimer died before releasing: after the lease another sweep takes it.
    expect(await reservations.expired(new Date(now.getTime() + 30_001), 100)).toContain(orderId);
  });
});

onPostgres("reservation expiry on PostgreSQL, several processes: releasing", () => {
  useFreshDatabase();

  it("two processes' jobs release each expired reservation once in total; stock ends where it began", async () => {
    const [a, b] = [await process_(), await process_()];
    const initial = 500;
    const items = await Promise.all(
      [1, 2, 3].map(() =>
        a.products.create({ name: "Item", description: "", category: "", priceCents: 100n, stock: initial }),
      ),
    );
    const orderIds: string[] = [];
    for (let i = 0; i < 150; i++) {
      const orderId = `both-${items[0]?.id}-${i}`;
      orderIds.push(orderId);
      // Two lines each, so a double release would show in two products' stock.
      const lines = [items[i % 3], items[(i + 1) % 3]].map((item) => ({
        productId: item?.id as string,
        quantity: 1 + (i % 2),
      }));
      await a.reservations.reserve(orderId, lines, 1000, { now: past() });
    }
    const calls = new Map<string, string[]>();
    const outcomes: boolean[] = [];
    const jobs = [a, b].map((p, index) =>
      startReservationExpiry({
        expired: (now, limit) => p.reservations.expired(now, limit),
        release: async (orderId) => {
          calls.set(orderId, [...(calls.get(orderId) ?? []), `job${index}`]);
          outcomes.push((await p.reservations.release(orderId)).released);
        },
        logger,
        intervalMs: 5,
      }),
    );
    await waitFor("every reservation released", () => orderIds.every((id) => calls.has(id)), 20_000);
    await sleep(100);
    await Promise.all(jobs.map((job) => job.stop()));
    // Each one handed to exactly one job, and every release call really released.
    expect([...calls.values()].filter((jobsCalled) => jobsCalled.length !== 1)).toEqual([]);
    expect(outcomes.every(Boolean)).toBe(true);
    expect(outcomes).toHaveLength(150);
    for (const item of items) expect((await a.products.get(item?.id as string))?.stock).toBe(initial);
  });
});
