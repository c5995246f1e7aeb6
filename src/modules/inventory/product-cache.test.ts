import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MemorySecondLevelStore } from "../../platform/cache/second-level-store.js";
import { type Database, openDatabase } from "../../platform/db/database.js";
import { createInProcessBus } from "../../platform/events/in-process-bus.js";
import { createLogger } from "../../platform/logger.js";
import { createProductCache, reloadProductCache } from "./product-cache.js";
import { invalidateOnProductEvents } from "./product-cache-invalidation.js";
import { productStockChangedEvent } from "./product-events.js";
import { ProductStore } from "./product-store.js";

describe("product cache over the real store", () => {
  let database: Database;
  let store: ProductStore;

  beforeAll(async () => {
    database = await openDatabase({ url: undefined, dataDir: "memory://", logger: createLogger("silent") });
    store = new ProductStore(database.db);
  });
  afterAll(async () => {
    await database?.close();
  });

  it("loads a product from the database once under a burst of 200 concurrent misses", async () => {
    const product = await store.create({
      name: "Kettle",
      description: "",
      category: "",
      priceCents: 2500n,
      stock: 3,
    });
    const loads = vi.spyOn(store, "get");
    const cache = createProductCache({ store, l2: undefined });
    const results = await Promise.all(Array.from({ length: 200 }, () => cache.get(product.id)));
    expect(loads).toHaveBeenCalledTimes(1);
    expect(results.every((result) => result?.priceCents === 2500n)).toBe(true);
    loads.mockRestore();
  });

  it("the scheduled full reload fills the cache with the whole catalog", async () => {
    const cache = createProductCache({ store, l2: undefined });
    const created = await Promise.all(
      ["A", "B", "C"].map((name) =>
        store.create({ name, description: "", category: "", priceCents: 1n, stock: 1 }),
      ),
    );
    const count = await reloadProductCache(cache, store);
    expect(count).toBeGreaterThanOrEqual(4);
    const loads = vi.spyOn(store, "get");
    for (const product of created) expect((await cache.get(product.id))?.name).toBe(product.name);
    expect(loads).not.toHaveBeenCalled();
    loads.mockRestore();
  });

  it("drops a cached product when another process takes its stock (inventory.stock.changed)", async () => {
    const product = await store.create({
      name: "Pot",
      description: "",
      category: "",
      priceCents: 10n,
      stock: 5,
    });
    const cache = createProductCache({ store, l2: undefined });
    expect((await cache.get(product.id))?.stock).toBe(5);
    const bus = createInProcessBus();
    const subscription = await invalidateOnProductEvents(bus, cache, createLogger("silent"));
    // Another process took 2 units: its statement changed the row and wrote this event.
    await store.update(product.id, { stock: 3 });
    const event = productStockChangedEvent(product.id, -2, "order-1", new Date());
    await bus.deliver({ ...event, id: event.id as string, occurredAt: new Date() });
    expect(cache.getIfPresent(product.id)).toBeUndefined();
    expect((await cache.get(product.id))?.stock).toBe(3);
    await subscription.stop();
  });

  it("with replicas sharing L2, a product event drops every replica's own copy and one replica tombstones L2: two tombstones per change, not one per replica", async () => {
    const product = await store.create({
      name: "Mug",
      description: "",
      category: "",
      priceCents: 900n,
      stock: 10,
    });
    const l2 = new MemorySecondLevelStore();
    const loads = vi.spyOn(store, "get");
    const replicas = [0, 1, 2].map(() => createProductCache({ store, l2 }));
    const bus = createInProcessBus();
    const subscriptions = await Promise.all(
      replicas.map((cache) => invalidateOnProductEvents(bus, cache, createLogger("silent"))),
    );
    const [writer, ...others] = replicas as [
      ReturnType<typeof createProductCache>,
      ...ReturnType<typeof createProductCache>[],
    ];
    for (const cache of replicas) expect((await cache.get(product.id))?.stock).toBe(10);
    for (const cache of replicas) await cache.flushWrites();
    expect(loads).toHaveBeenCalledTimes(1); // the others read it from L2
    const writes = () => l2.counts.set + l2.counts.fill + l2.counts.invalidate + l2.counts.delete;
    const before = { writes: writes(), invalidations: l2.counts.invalidate };

    // The writer takes 4 units, invalidates before answering; its event reaches every replica.
    await store.update(product.id, { stock: 6 });
    await writer.invalidate(product.id);
    const event = productStockChangedEvent(product.id, -4, "order-2", new Date());
    await bus.deliver({ ...event, id: event.id as string, occurredAt: new Date() });
    // The writer's own, and the one the group `product-cache-l2` writes for the event.
    expect(l2.counts.invalidate - before.invalidations).toBe(2);
    expect(writes() - before.writes).toBe(2);
    for (const cache of replicas) expect(cache.getIfPresent(product.id)).toBeUndefined();

    // One load after the change, then every replica reads it from L2.
    for (const cache of [...others, writer]) {
      expect((await cache.get(product.id))?.stock).toBe(6);
      await cache.flushWrites();
    }
    expect(loads).toHaveBeenCalledTimes(2);
    loads.mockRestore();
    await Promise.all(subscriptions.map((subscription) => subscription.stop()));
  });

  it("a writer that died between its commit and its invalidation: the event still takes the old value out of L2", async () => {
    const product = await store.create({
      name: "Vase",
      description: "",
      category: "",
      priceCents: 4000n,
      stock: 8,
    });
    const l2 = new MemorySecondLevelStore();
    const replicas = [0, 1].map(() => createProductCache({ store, l2 }));
    const bus = createInProcessBus();
    const subscriptions = await Promise.all(
      replicas.map((cache) => invalidateOnProductEvents(bus, cache, createLogger("silent"))),
    );
    for (const cache of replicas) {
      expect((await cache.get(product.id))?.stock).toBe(8);
      await cache.flushWrites();
    }
    // A third process commits the change and its event, then dies before invalidating.
    await store.update(product.id, { stock: 1 });
    for (const cache of replicas) expect((await cache.get(product.id))?.stock).toBe(8); // not yet told
    const event = productStockChangedEvent(product.id, -7, "order-3", new Date());
    await bus.deliver({ ...event, id: event.id as string, occurredAt: new Date() });
    for (const cache of replicas) expect((await cache.get(product.id))?.stock).toBe(1);
    await Promise.all(subscriptions.map((subscription) => subscription.stop()));
  });

  it("two replicas sharing L2: a read that loaded the old row before the other's update cannot serve it afterwards", async () => {
    const product = await store.create({
      name: "Lamp",
      description: "",
      category: "",
      priceCents: 1000n,
      stock: 5,
    });
    const l2 = new MemorySecondLevelStore();
    const writer = createProductCache({ store, l2 });
    // The reader's loads read the row at once but answer only when released.
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let rowRead: () => void = () => {};
    const read = new Promise<void>((resolve) => {
      rowRead = resolve;
    });
    const readerStore = Object.create(store) as ProductStore;
    readerStore.get = async (id) => {
      const row = await store.get(id);
      rowRead();
      await released;
      return row;
    };
    const reader = createProductCache({ store: readerStore, l2 });

    const racing = reader.get(product.id); // loads the old row (price 1000)…
    await read;
    await store.update(product.id, { priceCents: 1100n }); // …the writer's update commits
    await writer.invalidate(product.id); // and it invalidates before answering
    release();
    expect((await racing)?.priceCents).toBe(1000n); // that read started before the write
    await reader.flushWrites();
    expect((await writer.get(product.id))?.priceCents).toBe(1100n);
    expect((await reader.get(product.id))?.priceCents).toBe(1100n);
  });
});
