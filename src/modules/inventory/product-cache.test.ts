import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { deferred, GatedStore, MemoryPeerNetwork } from "../../../test/support/cache-test-support.js";
import { ProductStockChangedSchema } from "../../gen/ecommerce/inventory/v1/events_pb.js";
import { MemorySecondLevelStore } from "../../platform/cache/second-level-store.js";
import { type Database, openDatabase } from "../../platform/db/database.js";
import type { EventBus, SubscribeOptions } from "../../platform/events/event-bus.js";
import { createInProcessBus } from "../../platform/events/in-process-bus.js";
import { createLogger } from "../../platform/logger.js";
import { InvalidatedHere } from "./invalidated-here.js";
import { createProductCache, reloadProductCache } from "./product-cache.js";
import { invalidateOnProductEvents } from "./product-cache-invalidation.js";
import { PRODUCT_SUBJECTS, stockChangedEvent } from "./product-events.js";
import { ProductStore } from "./product-store.js";
import { afterStockChange } from "./stock-service.js";

// One embedded database for the file (PGlite takes seconds to start); every test makes its own products.
let database: Database;
let store: ProductStore;

beforeAll(async () => {
  database = await openDatabase({ url: undefined, dataDir: "memory://", logger: createLogger("silent") });
  store = new ProductStore(database.db);
});
afterAll(async () => {
  await database?.close();
});

/** A product in the store with the given name, price and stock. */
const newProduct = (name: string, priceCents: bigint, stock: number) =>
  store.create({ name, description: "", category: "", priceCents, stock });

/**
 * Caches of `count` processes (sharing `l2` when given, and told of each other's writes through
 * `peers` when given), each following the product events on one bus.
 */
async function replicasOn(count: number, l2: MemorySecondLevelStore | undefined, peers?: MemoryPeerNetwork) {
  const caches = Array.from({ length: count }, () => createProductCache({ store, l2, peers: peers?.peer() }));
  const bus = createInProcessBus();
  const subscriptions = await Promise.all(
    caches.map((cache) =>
      invalidateOnProductEvents(bus, cache, createLogger("silent"), { withPeers: peers !== undefined }),
    ),
  );
  return {
    caches,
    /** What another process's stock change of `delta` on `productId` publishes. */
    stockChanged: async (productId: string, delta: number) => {
      const event = stockChangedEvent(`order-${delta}`, [{ productId, delta }], new Date());
      await bus.deliver({ ...event, occurredAt: new Date() });
    },
    stop: () => Promise.all(subscriptions.map((subscription) => subscription.stop())),
  };
}

/**
 * invalidateOnProductEvents on a bus that only records the subscriptions, so that a test hands the
 * group `product-cache-l2` one event (`handler`) or a batch (`batchHandler`) as JetStream would.
 */
async function subscribedGroup(
  cache: ReturnType<typeof createProductCache>,
  options: Parameters<typeof invalidateOnProductEvents>[3],
) {
  const subscribed: SubscribeOptions[] = [];
  const bus = {
    subscribe: async (subscription: SubscribeOptions) => {
      subscribed.push(subscription);
      return { stop: async () => {}, pending: async () => 0 };
    },
  } as unknown as EventBus;
  await invalidateOnProductEvents(bus, cache, createLogger("silent"), options);
  const group = subscribed.find((subscription) => subscription.durableName === "product-cache-l2");
  return { group: group as SubscribeOptions, subscribed };
}

/** A stock event as a subscriber gets it, on its first delivery. */
function delivered(event: ReturnType<typeof stockChangedEvent>) {
  return { ...event, occurredAt: new Date(), redelivered: false, deliveryCount: 1 };
}

describe("product cache over the real store", () => {
  it("loads a product from the database once under a burst of 200 concurrent misses", async () => {
    const product = await newProduct("Kettle", 2500n, 3);
    const loads = vi.spyOn(store, "get");
    const cache = createProductCache({ store, l2: undefined });
    const results = await Promise.all(Array.from({ length: 200 }, () => cache.get(product.id)));
    expect(loads).toHaveBeenCalledTimes(1);
    expect(results.every((result) => result?.priceCents === 2500n)).toBe(true);
    loads.mockRestore();
  });

  it("the scheduled full reload fills the cache with the whole catalog", async () => {
    const cache = createProductCache({ store, l2: undefined });
    const created = await Promise.all(["A", "B", "C"].map((name) => newProduct(name, 1n, 1)));
    const count = await reloadProductCache(cache, store);
    expect(count).toBeGreaterThanOrEqual(4);
    const loads = vi.spyOn(store, "get");
    for (const product of created) expect((await cache.get(product.id))?.name).toBe(product.name);
    expect(loads).not.toHaveBeenCalled();
    loads.mockRestore();
  });
});

describe("product cache over the real store, following product events", () => {
  it("drops a cached product when another process takes its stock (inventory.stock.changed)", async () => {
    const product = await newProduct("Pot", 10n, 5);
    const { caches, stockChanged, stop } = await replicasOn(1, undefined);
    const cache = caches[0] as ReturnType<typeof createProductCache>;
    expect((await cache.get(product.id))?.stock).toBe(5);
    // Another process took 2 units: its statement changed the row and wrote this event.
    await store.update(product.id, { stock: 3 });
    await stockChanged(product.id, -2);
    expect(cache.getIfPresent(product.id)).toBeUndefined();
    expect((await cache.get(product.id))?.stock).toBe(3);
    await stop();
  });

  it("one stock event drops every product of the order; one written before it (one per product) still drops its own", async () => {
    const [cup, saucer, spoon] = await Promise.all([
      newProduct("Cup", 10n, 5),
      newProduct("Saucer", 10n, 5),
      newProduct("Spoon", 10n, 5),
    ]);
    const bus = createInProcessBus();
    const cache = createProductCache({ store, l2: undefined });
    const subscription = await invalidateOnProductEvents(bus, cache, createLogger("silent"));
    for (const product of [cup, saucer, spoon]) expect((await cache.get(product.id))?.stock).toBe(5);
    const taken = stockChangedEvent(
      "order-2",
      [
        { productId: cup.id, delta: -1 },
        { productId: saucer.id, delta: -2 },
      ],
      new Date(),
    );
    await bus.deliver({ ...taken, occurredAt: new Date() });
    expect(cache.getIfPresent(cup.id)).toBeUndefined();
    expect(cache.getIfPresent(saucer.id)).toBeUndefined();
    expect(cache.getIfPresent(spoon.id)).toBeDefined();
    await bus.deliver({
      id: "00000000-0000-7000-8000-000000000001",
      type: ProductStockChangedSchema.typeName,
      subject: PRODUCT_SUBJECTS.stockChanged,
      payload: toBinary(
        ProductStockChangedSchema,
        create(ProductStockChangedSchema, { productId: spoon.id, delta: -1, orderId: "order-1" }),
      ),
      occurredAt: new Date(),
    });
    expect(cache.getIfPresent(spoon.id)).toBeUndefined();
    await subscription.stop();
  });

  it("with replicas sharing L2, a product event drops every replica's own copy and one replica tombstones L2: two tombstones per change, not one per replica", async () => {
    const product = await newProduct("Mug", 900n, 10);
    const l2 = new MemorySecondLevelStore();
    const loads = vi.spyOn(store, "get");
    const { caches: replicas, stockChanged, stop } = await replicasOn(3, l2);
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
    await stockChanged(product.id, -4);
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
    await stop();
  });

  it("a writer that died between its commit and its invalidation: the event still takes the old value out of L2", async () => {
    const product = await newProduct("Vase", 4000n, 8);
    const { caches: replicas, stockChanged, stop } = await replicasOn(2, new MemorySecondLevelStore());
    for (const cache of replicas) {
      expect((await cache.get(product.id))?.stock).toBe(8);
      await cache.flushWrites();
    }
    // A third process commits the change and its event, then dies before invalidating.
    await store.update(product.id, { stock: 1 });
    for (const cache of replicas) expect((await cache.get(product.id))?.stock).toBe(8); // not yet told
    await stockChanged(product.id, -7);
    for (const cache of replicas) expect((await cache.get(product.id))?.stock).toBe(1);
    await stop();
  });
});

describe("product cache over the real store, replicas racing a write", () => {
  it("two replicas sharing L2: a read that loaded the old row before the other's update cannot serve it afterwards", async () => {
    const product = await newProduct("Lamp", 1000n, 5);
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

  it("with peers, a writer that died between its commit and its forget: the group's invalidate alone drops every replica's copy", async () => {
    const product = await newProduct("Jug", 3000n, 9);
    const network = new MemoryPeerNetwork();
    const {
      caches: replicas,
      stockChanged,
      stop,
    } = await replicasOn(2, new MemorySecondLevelStore(), network);
    for (const cache of replicas) expect((await cache.get(product.id))?.stock).toBe(9);
    // Under the lease, each answers from its own memory.
    for (const cache of replicas) expect(cache.getIfPresent(product.id)?.stock).toBe(9);
    const local = replicas.map((cache) => vi.spyOn(cache, "forgetLocally"));
    await store.update(product.id, { stock: 2 });
    await stockChanged(product.id, -7);
    // One forget to every peer, from the one replica of the group that took the event.
    expect(network.published).toEqual([{ name: "products", keys: [product.id] }]);
    for (const cache of replicas) expect((await cache.get(product.id))?.stock).toBe(2);
    // No every-process subscription: nothing was forgotten locally.
    for (const spy of local) expect(spy).not.toHaveBeenCalled();
    await stop();
  });

  it("a batch of events the group took while busy invalidates each product once", async () => {
    const cache = createProductCache({ store, l2: undefined });
    const invalidated = vi.spyOn(cache, "invalidate");
    const { group, subscribed } = await subscribedGroup(cache, { withPeers: true });
    const taken = (productId: string) =>
      delivered(stockChangedEvent("order-1", [{ productId, delta: -1 }], new Date()));
    await group?.batchHandler?.([taken("p-1"), taken("p-2"), taken("p-1"), taken("p-1")]);
    expect(invalidated.mock.calls.map(([id]) => id).sort()).toEqual(["p-1", "p-2"]);
    // With peers, the group is the only subscription.
    expect(subscribed).toHaveLength(1);
  });
});

/** An L2 whose next `failures` tombstones do not reach it (Redis down: RedisStore answers false). */
class FailingTombstones extends MemorySecondLevelStore {
  failures = 0;
  override async invalidate(key: string, tombstoneTtlMs: number): Promise<boolean> {
    if (this.failures > 0) {
      this.failures--;
      return false;
    }
    return super.invalidate(key, tombstoneTtlMs);
  }
}

describe("the group's repair in the process that wrote the change", () => {
  /**
   * One inventory process: its stock writes (afterStockChange, tracking into `invalidatedHere`)
   * and its member of the group (subscribedGroup).
   */
  async function writerAndGroup(l2: MemorySecondLevelStore | GatedStore) {
    const cache = createProductCache({ store, l2 });
    const invalidatedHere = new InvalidatedHere();
    const { group } = await subscribedGroup(cache, { withPeers: true, invalidatedHere });
    /** This process changes `productId`'s stock: the change, its event, its invalidation. */
    const write = async (productId: string, stock: number) => {
      await store.update(productId, { stock });
      const event = stockChangedEvent("order-1", [{ productId, delta: -1 }], new Date());
      const invalidation = afterStockChange({ cache, onEventsCommitted: () => {}, invalidatedHere }, [
        { productIds: [productId], eventId: event.id },
      ]);
      return { event: delivered(event), invalidation };
    };
    return { cache, group, write };
  }

  it("an event this process wrote and tombstoned is not tombstoned again, alone or in a batch", async () => {
    const [a, b] = await Promise.all([newProduct("Lamp", 100n, 5), newProduct("Rug", 200n, 5)]);
    const l2 = new MemorySecondLevelStore();
    const { cache, group, write } = await writerAndGroup(l2);
    const first = await write(a.id, 4);
    await first.invalidation;
    const before = l2.counts.invalidate;
    const groupInvalidates = vi.spyOn(cache, "invalidate");
    await group.handler(first.event);
    const [second, third] = [await write(a.id, 3), await write(b.id, 4)];
    await Promise.all([second.invalidation, third.invalidation]);
    groupInvalidates.mockClear();
    await group.batchHandler?.([second.event, third.event]);
    expect(groupInvalidates).not.toHaveBeenCalled();
    expect(l2.counts.invalidate - before).toBe(2); // the writer's two, none of the group's
  });

  it("repairs when the writer's tombstone did not reach L2, and a redelivered event", async () => {
    const product = await newProduct("Stool", 300n, 5);
    const l2 = new FailingTombstones();
    const { cache, group, write } = await writerAndGroup(l2);
    expect((await cache.get(product.id))?.stock).toBe(5);
    await cache.flushWrites();
    l2.failures = 1;
    const { event, invalidation } = await write(product.id, 4);
    await invalidation;
    expect(l2.peek(`products:${product.id}`)).toBeDefined(); // the old value is still in L2
    await group.handler(event);
    expect(l2.counts.invalidate).toBe(1); // the group's: the writer's never reached L2
    expect((await createProductCache({ store, l2 }).get(product.id))?.stock).toBe(4);
    // Delivered again (the ack was lost): repaired again, as any event the process did not write.
    await group.handler({ ...event, redelivered: true, deliveryCount: 2 });
    expect(l2.counts.invalidate).toBe(2);
  });

  it("an event of two products is repaired, both of them, when one of the writer's tombstones did not reach L2", async () => {
    const [a, b] = await Promise.all([newProduct("Chair", 100n, 5), newProduct("Desk", 200n, 5)]);
    const l2 = new FailingTombstones();
    const cache = createProductCache({ store, l2 });
    const invalidatedHere = new InvalidatedHere();
    const { group } = await subscribedGroup(cache, { withPeers: true, invalidatedHere });
    const event = stockChangedEvent(
      "order-3",
      [
        { productId: a.id, delta: -1 },
        { productId: b.id, delta: -1 },
      ],
      new Date(),
    );
    l2.failures = 1;
    await afterStockChange({ cache, onEventsCommitted: () => {}, invalidatedHere }, [
      { productIds: [a.id, b.id], eventId: event.id },
    ]);
    expect(l2.counts.invalidate).toBe(1); // one of the writer's two reached L2
    const groupInvalidates = vi.spyOn(cache, "invalidate");
    await group.handler(delivered(event));
    expect(groupInvalidates.mock.calls.map(([id]) => id).sort()).toEqual([a.id, b.id].sort());
  });

  it("an event handed over while the writer's invalidation still runs waits for it, then needs no repair", async () => {
    const product = await newProduct("Shelf", 400n, 5);
    const l2 = new GatedStore();
    const { cache, group, write } = await writerAndGroup(l2);
    l2.invalidateGate = deferred<void>();
    const { event, invalidation } = await write(product.id, 4);
    const groupInvalidates = vi.spyOn(cache, "invalidate");
    let handled = false;
    const handling = group.handler(event).then(() => {
      handled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(handled).toBe(false);
    l2.invalidateGate.resolve();
    await Promise.all([invalidation, handling]);
    expect(groupInvalidates).not.toHaveBeenCalled();
    expect(l2.inner.counts.invalidate).toBe(1);
  });
});
