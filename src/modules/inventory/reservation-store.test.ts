/**
 * Stock guarantees on the store: no oversell under concurrency, all or nothing, exactly-once
 * release, idempotent retries. Concurrency is proven on real PostgreSQL (PGlite runs one
 * transaction at a time).
 */
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/support/test-database.js";
import { StockChangedSchema } from "../../gen/ecommerce/inventory/v1/events_pb.js";
import { type Database, openDatabase } from "../../platform/db/database.js";
import { createLogger } from "../../platform/logger.js";
import { stockChangedEvent } from "./product-events.js";
import { ProductStore } from "./product-store.js";
import { mergeLines, ReservationStore } from "./reservation-store.js";
import { RESERVE_STATEMENT, type ReserveRow, reserveValues } from "./reserve-statement.js";
import { inventoryOutbox } from "./schema.js";

const logger = createLogger("silent");
const TTL = 60_000;

async function codeOf(promise: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

let database: Database;
let products: ProductStore;
let reservations: ReservationStore;
const newProduct = (stock: number, priceCents = 1000n) =>
  products.create({ name: "Item", description: "", category: "", priceCents, stock });
const stockOf = async (id: string) => (await products.get(id))?.stock;

/**
 * Points the stores at a fresh database for the tests of the describe block it is called in, over
 * `maxConnections` connections.
 */
function useFreshDatabase(maxConnections = 20): void {
  let fresh: TestDatabase;
  beforeAll(async () => {
    fresh = await createTestDatabase(process.env.DATABASE_URL as string);
    database = await openDatabase({ url: fresh.url, dataDir: "unused", logger, maxConnections });
    products = new ProductStore(database.db);
    reservations = new ReservationStore(database.db);
  });
  afterAll(async () => {
    await database?.close();
    await fresh?.drop();
  });
}

const onPostgres = describe.skipIf(!process.env.DATABASE_URL);

onPostgres("stock reservations on PostgreSQL: concurrent orders", () => {
  useFreshDatabase();

  it("200 concurrent orders of 1 against a stock of 50: exactly 50 succeed and the stock ends at 0", async () => {
    const product = await newProduct(50);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        codeOf(
          reservations.reserve(`order-${product.id}-${index}`, [{ productId: product.id, quantity: 1 }], TTL),
        ),
      ),
    );
    expect(results.filter((result) => result === "ok")).toHaveLength(50);
    expect(results.filter((result) => result === Code.FailedPrecondition)).toHaveLength(150);
    expect(await stockOf(product.id)).toBe(0);
  });

  it("concurrent multi-line orders over the same products in different orders finish without deadlock", async () => {
    const [a, b, c] = await Promise.all([newProduct(1000), newProduct(1000), newProduct(1000)]);
    const ids = [a, b, c].map((product) => product?.id as string);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, index) => {
        const order = index % 2 === 0 ? ids : [...ids].reverse();
        return codeOf(
          reservations.reserve(
            `multi-${ids[0]}-${index}`,
            order.map((productId) => ({ productId, quantity: 7 })),
            TTL,
          ),
        );
      }),
    );
    expect(results.every((result) => result === "ok")).toBe(true);
    for (const id of ids) expect(await stockOf(id)).toBe(1000 - 60 * 7);
  });

  it("never goes below zero when multi-line orders compete for a small stock", async () => {
    const [a, b] = await Promise.all([newProduct(10), newProduct(10)]);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        codeOf(
          reservations.reserve(
            `scarce-${a?.id}-${index}`,
            index % 2 === 0
              ? [
                  { productId: a?.id as string, quantity: 1 },
                  { productId: b?.id as string, quantity: 2 },
                ]
              : [
                  { productId: b?.id as string, quantity: 1 },
                  { productId: a?.id as string, quantity: 2 },
                ],
            TTL,
          ),
        ),
      ),
    );
    const succeeded = results.filter((result) => result === "ok").length;
    expect(results.every((result) => result === "ok" || result === Code.FailedPrecondition)).toBe(true);
    const stockA = (await stockOf(a?.id as string)) as number;
    const stockB = (await stockOf(b?.id as string)) as number;
    expect(stockA).toBeGreaterThanOrEqual(0);
    expect(stockB).toBeGreaterThanOrEqual(0);
    // Every successful order took 3 units in total across the two products.
    expect(20 - stockA - stockB).toBe(succeeded * 3);
  });
});

onPostgres("stock reservations on PostgreSQL: all or nothing, once per order id", () => {
  useFreshDatabase();

  it("takes no stock for the first line when the second lacks stock", async () => {
    const [plenty, scarce] = await Promise.all([newProduct(5), newProduct(1)]);
    const code = await codeOf(
      reservations.reserve(
        `partial-${plenty?.id}`,
        [
          { productId: plenty?.id as string, quantity: 2 },
          { productId: scarce?.id as string, quantity: 2 },
        ],
        TTL,
      ),
    );
    expect(code).toBe(Code.FailedPrecondition);
    expect(await stockOf(plenty?.id as string)).toBe(5);
    expect(await stockOf(scarce?.id as string)).toBe(1);
  });

  it("a retried order id takes stock once and returns the first reservation", async () => {
    const product = await newProduct(10, 2500n);
    const orderId = `retry-${product.id}`;
    const attempts = await Promise.all(
      Array.from({ length: 5 }, () =>
        reservations.reserve(orderId, [{ productId: product.id, quantity: 3 }], TTL),
      ),
    );
    expect(await stockOf(product.id)).toBe(7);
    for (const attempt of attempts) {
      expect(attempt.reservation.lines).toEqual([
        {
          productId: product.id,
          productName: "Item",
          quantity: 3,
          unitPriceCents: 2500n,
          unitDiscountCents: 0n,
        },
      ]);
    }
  });

  it("answers not_found for an unknown product and changes nothing", async () => {
    const product = await newProduct(3);
    const code = await codeOf(
      reservations.reserve(
        `unknown-${product.id}`,
        [
          { productId: product.id, quantity: 1 },
          { productId: "01a216f4-930f-7660-bd73-000000000000", quantity: 1 },
        ],
        TTL,
      ),
    );
    expect(code).toBe(Code.NotFound);
    expect(await stockOf(product.id)).toBe(3);
  });
});

onPostgres("stock reservations on PostgreSQL: release, confirmation and expiry", () => {
  useFreshDatabase();

  it("releasing twice, even concurrently, returns the stock once", async () => {
    const product = await newProduct(10);
    const orderId = `release-${product.id}`;
    await reservations.reserve(orderId, [{ productId: product.id, quantity: 4 }], TTL);
    expect(await stockOf(product.id)).toBe(6);
    const results = await Promise.all([reservations.release(orderId), reservations.release(orderId)]);
    expect(results.filter((result) => result.released)).toHaveLength(1);
    expect(await stockOf(product.id)).toBe(10);
    expect((await reservations.release(orderId)).released).toBe(false);
  });

  it("a reservation and its release each append one stock event with every product's change", async () => {
    const [first, second] = (await Promise.all([newProduct(10), newProduct(10)])).sort((a, b) =>
      a.id < b.id ? -1 : 1,
    );
    const orderId = `events-${first?.id}`;
    const stockEvents = async () =>
      (
        await database.db
          .select()
          .from(inventoryOutbox)
          .where(eq(inventoryOutbox.type, StockChangedSchema.typeName))
      )
        .map((row) => ({ id: row.id, ...fromBinary(StockChangedSchema, row.payload) }))
        .filter((event) => event.orderId === orderId)
        .map(({ id, deltas }) => ({
          id,
          deltas: deltas.map(({ productId, delta }) => ({ productId, delta })),
        }));
    const { changes: taken } = await reservations.reserve(
      orderId,
      [
        { productId: second?.id as string, quantity: 2 },
        { productId: first?.id as string, quantity: 1 },
        { productId: second?.id as string, quantity: 1 },
      ],
      TTL,
    );
    const afterReserve = await stockEvents();
    expect(afterReserve).toEqual([
      {
        id: taken[0]?.eventId,
        deltas: [
          { productId: first?.id, delta: -1 },
          { productId: second?.id, delta: -3 },
        ],
      },
    ]);
    expect(taken).toEqual([{ eventId: afterReserve[0]?.id, productIds: [first?.id, second?.id] }]);
    const { changes: returned } = await reservations.release(orderId);
    const released = (await stockEvents()).find((event) => event.id !== afterReserve[0]?.id);
    expect(released?.deltas).toEqual([
      { productId: first?.id, delta: 1 },
      { productId: second?.id, delta: 3 },
    ]);
    expect(returned).toEqual([{ eventId: released?.id, productIds: [first?.id, second?.id] }]);
    expect(await stockEvents()).toHaveLength(2);
  });

  it("lists unconfirmed reservations past their expiry, and never confirmed ones", async () => {
    const product = await newProduct(10);
    const past = new Date(Date.now() - 120_000);
    await reservations.reserve(`expired-${product.id}`, [{ productId: product.id, quantity: 1 }], 1000, {
      now: past,
    });
    await reservations.reserve(`kept-${product.id}`, [{ productId: product.id, quantity: 1 }], 1000, {
      now: past,
    });
    expect(await reservations.confirm([`kept-${product.id}`, `kept-${product.id}`])).toEqual({
      released: [],
      unknown: [],
    });
    const expired = await reservations.expired(new Date(), 1000);
    expect(expired).toContain(`expired-${product.id}`);
    expect(expired).not.toContain(`kept-${product.id}`);
    await reservations.release(`expired-${product.id}`);
    // A late confirmation cannot resurrect it; one for an order that never reserved is told apart.
    expect(await reservations.confirm([`expired-${product.id}`, `kept-${product.id}`, "never"])).toEqual({
      released: [`expired-${product.id}`],
      unknown: ["never"],
    });
  });

  it("the expiry job's release leaves a reservation its order confirmed meanwhile", async () => {
    const product = await newProduct(10);
    const orderId = `late-confirm-${product.id}`;
    await reservations.reserve(orderId, [{ productId: product.id, quantity: 2 }], 1000, {
      now: new Date(Date.now() - 120_000),
    });
    expect(await reservations.expired(new Date(), 1000)).toContain(orderId);
    // The order confirms after the job claimed the reservation but before it released it.
    await reservations.confirm([orderId]);
    expect((await reservations.release(orderId, new Date(), true)).released).toBe(false);
    expect(await stockOf(product.id)).toBe(8);
  });
});

describe("mergeLines", () => {
  it("merges repeated products and orders lines by product id", () => {
    expect(
      mergeLines([
        { productId: "b", quantity: 1 },
        { productId: "a", quantity: 2 },
        { productId: "b", quantity: 3 },
      ]),
    ).toEqual([
      { productId: "a", quantity: 2 },
      { productId: "b", quantity: 4 },
    ]);
  });
});

onPostgres("a reservation's commit (docs/guarantees.md, \"A reservation's commit\")", () => {
  // One connection, so that what a statement leaves on its session is what the next one sees.
  useFreshDatabase(1);

  /** Runs the reserve statement for one unit of `productId`; the commit mode of its rows. */
  async function commitModeOf(productId: string, flushedByCaller: boolean): Promise<string[]> {
    const now = new Date();
    const orderId = `commit-${flushedByCaller}-${productId}`;
    const event = stockChangedEvent(orderId, [{ productId, delta: -1 }], now);
    const rows = await RESERVE_STATEMENT.rows<ReserveRow>(
      database.db,
      { lineCount: 1, flushedByCaller },
      reserveValues(orderId, [{ productId, quantity: 1 }], new Date(now.getTime() + TTL), now, event),
    );
    expect(rows.map((row) => row.claimed)).toEqual([true]);
    return rows.map((row) => row.synchronous_commit);
  }
  const sessionSetting = async () => {
    const rows = (await database.db.execute(
      sql`select current_setting('synchronous_commit') as mode`,
    )) as unknown as { mode: string }[];
    return rows[0]?.mode;
  };

  it("left to the caller: its own transaction commits without waiting for the disk, and only it", async () => {
    const product = await newProduct(5);
    expect(await commitModeOf(product.id, true)).toEqual(["off"]);
    // The same connection's next transaction commits as the server is set up to again.
    expect(await sessionSetting()).toBe("on");
    expect(await commitModeOf(product.id, false)).toEqual(["on"]);
    expect(await stockOf(product.id)).toBe(3);
  });
});
