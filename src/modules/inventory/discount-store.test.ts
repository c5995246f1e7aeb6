import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../platform/db/database.js";
import { createLogger } from "../../platform/logger.js";
import { discountedPriceCents, unitDiscountCents } from "./discount-price.js";
import { DiscountStore, type NewDiscount, type StoredDiscount } from "./discount-store.js";
import { ProductStore } from "./product-store.js";

const HOUR = 3_600_000;
const at = (iso: string) => new Date(iso);

// One embedded database for the file (PGlite takes seconds to start); every test makes its own products.
let database: Database;
let store: DiscountStore;
let catalog: ProductStore;

beforeAll(async () => {
  database = await openDatabase({ url: undefined, dataDir: "memory://", logger: createLogger("silent") });
  store = new DiscountStore(database.db);
  catalog = new ProductStore(database.db);
});
afterAll(async () => {
  await database?.close();
});

const newProduct = async (priceCents = 1000n) =>
  (await catalog.create({ name: "Mug", description: "", category: "", priceCents, stock: 1 })).id;

const discount = (productIds: string[], fields: Partial<NewDiscount> = {}): NewDiscount => ({
  name: "Sale",
  description: "",
  percentOff: 10,
  productIds,
  startsAt: at("2030-01-01T00:00:00Z"),
  endsAt: at("2030-02-01T00:00:00Z"),
  ...fields,
});

describe("discount store on PGlite: prices", () => {
  it("prices with the largest discount in force when several apply", async () => {
    const product = await newProduct(2000n);
    await store.create(discount([product], { percentOff: 10 }));
    await store.create(discount([product], { percentOff: 35 }));
    await store.create(discount([product], { percentOff: 20 }));
    // Larger, but not in force at the moment asked about.
    await store.create(
      discount([product], {
        percentOff: 90,
        startsAt: at("2031-01-01T00:00:00Z"),
        endsAt: at("2031-02-01T00:00:00Z"),
      }),
    );
    const now = at("2030-01-15T00:00:00Z");
    expect(await store.bestDiscountPercent([product], now)).toEqual(new Map([[product, 35]]));
    const listed = (await store.listDiscountedProducts(now, undefined, 1000)).filter(
      (item) => item.product.id === product,
    );
    expect(listed.map((item) => item.percentOff)).toEqual([35]);
    expect(listed[0]?.product.priceCents).toBe(2000n);
  });

  it("applies from starts_at (inclusive) until ends_at (exclusive)", async () => {
    const product = await newProduct();
    const startsAt = at("2040-03-01T12:00:00.000Z");
    const endsAt = at("2040-03-02T12:00:00.000Z");
    await store.create(discount([product], { percentOff: 25, startsAt, endsAt }));
    const percentAt = async (moment: Date) =>
      (await store.bestDiscountPercent([product], moment)).get(product);
    expect(await percentAt(new Date(startsAt.getTime() - 1))).toBeUndefined();
    expect(await percentAt(startsAt)).toBe(25);
    expect(await percentAt(new Date(endsAt.getTime() - 1))).toBe(25);
    expect(await percentAt(endsAt)).toBeUndefined();
    const listedAt = async (moment: Date) =>
      (await store.listDiscountedProducts(moment, undefined, 1000)).some(
        (item) => item.product.id === product,
      );
    expect(await listedAt(startsAt)).toBe(true);
    expect(await listedAt(endsAt)).toBe(false);
  });

  it("floors the discount per unit in integer cents", async () => {
    expect(unitDiscountCents(999n, 33)).toBe(329n);
    expect(discountedPriceCents(999n, 33)).toBe(670n);
    expect(discountedPriceCents(1n, 99)).toBe(1n);
    expect(discountedPriceCents(1000n, 100)).toBe(0n);
    // Beyond float precision: 2^60 + 1 cents at 50% must stay exact.
    expect(discountedPriceCents(2n ** 60n + 1n, 50)).toBe(2n ** 59n + 1n);
  });
});

describe("discount store on PGlite: products and deletions", () => {
  it("drops a deleted product from its discount and leaves the discount", async () => {
    const kept = await newProduct();
    const removed = await newProduct();
    const created = await store.create(discount([kept, removed], { name: `Keep ${kept}` }));
    expect(created.productIds).toEqual([kept, removed].sort());
    expect(await catalog.delete(removed)).toBe(true);
    const stored = (await store.list(undefined, 1000)).find((item) => item.id === created.id);
    expect(stored?.productIds).toEqual([kept]);
    const now = at("2030-01-15T00:00:00Z");
    expect(await store.bestDiscountPercent([kept, removed], now)).toEqual(new Map([[kept, 10]]));
  });

  it("deletes a discount with its product links", async () => {
    const product = await newProduct();
    const created = await store.create(
      discount([product], { startsAt: at("2050-01-01T00:00:00Z"), endsAt: at("2050-01-02T00:00:00Z") }),
    );
    expect(await store.delete(created.id)).toBe(true);
    expect(await store.delete(created.id)).toBe(false);
    expect(await store.bestDiscountPercent([product], at("2050-01-01T06:00:00Z"))).toEqual(new Map());
  });

  it("refuses a discount naming missing products, names them, and stores nothing", async () => {
    const product = await newProduct();
    const missing = ["00000000-0000-7000-8000-000000000001", "00000000-0000-7000-8000-000000000002"];
    const before = (await store.list(undefined, 1000)).length;
    const error = await store.create(discount([product, ...missing])).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.NotFound);
    for (const id of missing) expect((error as ConnectError).rawMessage).toContain(id);
    expect((error as ConnectError).rawMessage).not.toContain(product);
    expect((await store.list(undefined, 1000)).length).toBe(before);
  });
});

describe("discount store on PGlite: paging", () => {
  it("lists discounts newest first across pages, each exactly once", async () => {
    const product = await newProduct();
    const created: string[] = [];
    for (let index = 0; index < 5; index++) created.push((await store.create(discount([product]))).id);
    const seen: string[] = [];
    let after: { createdAt: Date; id: string } | undefined;
    for (;;) {
      const page = await store.list(after, 2);
      seen.push(...page.map((item) => item.id));
      const last = page[page.length - 1];
      if (page.length < 2 || last === undefined) break;
      after = { createdAt: last.createdAt, id: last.id };
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => created.includes(id)).sort()).toEqual([...created].sort());
    // Newest first: (created_at, id) never increases from one item to the next.
    const all = await store.list(undefined, 1000);
    expect(all.map((item) => item.id)).toEqual(seen);
    for (let index = 1; index < all.length; index++) {
      const [previous, current] = [all[index - 1], all[index]] as [StoredDiscount, StoredDiscount];
      const key = (item: StoredDiscount) => `${item.createdAt.toISOString()} ${item.id}`;
      expect(key(previous) > key(current), `${key(previous)} before ${key(current)}`).toBe(true);
    }
  });

  it("pages discounted products by product id", async () => {
    const now = at("2060-06-01T00:00:00Z");
    const window = { startsAt: new Date(now.getTime() - HOUR), endsAt: new Date(now.getTime() + HOUR) };
    const ids = [await newProduct(), await newProduct(), await newProduct()];
    await store.create(discount(ids, window));
    const first = await store.listDiscountedProducts(now, undefined, 2);
    const second = await store.listDiscountedProducts(now, first[1]?.product.id, 2);
    expect([...first, ...second].map((item) => item.product.id)).toEqual([...ids].sort());
  });
});
