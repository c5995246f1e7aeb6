/** The inventory module's only public entry: how the composition root mounts it. */
import { InventoryService } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { StockService } from "../../gen/ecommerce/inventory/v1/stock_service_pb.js";
import { scheduleRefresh } from "../../platform/cache/index.js";
import { OutboxRelay } from "../../platform/events/index.js";
import type { MountedModule, Platform } from "../../platform/module.js";
import { DiscountStore } from "./discount-store.js";
import { InvalidatedHere } from "./invalidated-here.js";
import { createInventoryService } from "./inventory-service.js";
import { createProductCache, reloadProductCache } from "./product-cache.js";
import { invalidateOnProductEvents } from "./product-cache-invalidation.js";
import { ProductStore } from "./product-store.js";
import { startReservationExpiry } from "./reservation-expiry.js";
import { ReservationStore } from "./reservation-store.js";
import { inventoryOutbox } from "./schema.js";
import { afterStockChange, createStockService } from "./stock-service.js";

export function mountInventory(platform: Platform): MountedModule {
  const { database, bus, logger, metrics, config } = platform;
  const log = logger.child({ module: "inventory" });
  const store = new ProductStore(database.db);
  const discounts = new DiscountStore(database.db);
  const cache = createProductCache({
    store,
    l2: platform.cacheStore,
    peers: platform.cachePeers,
    metrics,
    logger: log,
  });
  const relay = new OutboxRelay({
    name: "inventory",
    db: database.backgroundDb,
    table: inventoryOutbox,
    bus,
    logger: log,
    metrics,
  });
  const service = createInventoryService({
    store,
    discounts,
    cache,
    auth: platform.auth,
    onEventsCommitted: () => relay.wake(),
  });
  const reservations = new ReservationStore(database.db);
  const invalidatedHere = new InvalidatedHere();
  const stockDeps = {
    reservations,
    cache,
    auth: platform.auth,
    reservationTimeoutMs: config.reservationTimeoutMs,
    onEventsCommitted: () => relay.wake(),
    invalidatedHere,
    databaseServer: database.serverIdentity,
    logger: log,
  };
  const stockService = createStockService(stockDeps);
  let refresh: { stop(): void } | undefined;
  let expiry: { stop(): Promise<void> } | undefined;
  let invalidation: { stop(): Promise<void> } | undefined;

  return {
    name: "inventory",
    routes: (router) => {
      router.service(InventoryService, service);
      router.service(StockService, stockService);
    },
    start: async () => {
      invalidation = await invalidateOnProductEvents(bus, cache, log, {
        withPeers: platform.cachePeers?.spansProcesses === true,
        invalidatedHere,
      });
      relay.start();
      expiry = startReservationExpiry({
        expired: (now, limit) => reservations.expired(now, limit),
        release: async (orderId) =>
          afterStockChange(stockDeps, (await reservations.release(orderId, new Date(), true)).changes),
        logger: log,
        // Check several times per timeout, so stock comes back soon after its reservation expires.
        intervalMs: Math.min(5000, Math.max(250, config.reservationTimeoutMs / 4)),
      });
      refresh = scheduleRefresh(
        config.cacheRefreshCron,
        async () => {
          const count = await reloadProductCache(cache, store);
          log.info({ count }, "product cache reloaded");
        },
        log,
      );
    },
    stop: async () => {
      refresh?.stop();
      await invalidation?.stop();
      await expiry?.stop();
      await relay.stop();
    },
  };
}
