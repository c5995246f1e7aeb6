/** The inventory module's only public entry: how the composition root mounts it. */
import { InventoryService } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { scheduleRefresh } from "../../platform/cache/refresh-schedule.js";
import { OutboxRelay } from "../../platform/events/outbox-relay.js";
import type { MountedModule, Platform } from "../../platform/module.js";
import { createInventoryService } from "./inventory-service.js";
import { createProductCache, reloadProductCache } from "./product-cache.js";
import { ProductStore } from "./product-store.js";
import { inventoryOutbox } from "./schema.js";

export function mountInventory(platform: Platform): MountedModule {
  const { database, bus, logger, metrics, config } = platform;
  const log = logger.child({ module: "inventory" });
  const store = new ProductStore(database.db);
  const cache = createProductCache({ store, l2: platform.cacheStore, metrics, logger: log });
  const relay = new OutboxRelay({
    name: "inventory",
    db: database.db,
    table: inventoryOutbox,
    bus,
    logger: log,
    metrics,
  });
  const service = createInventoryService({
    store,
    cache,
    auth: platform.auth,
    onEventsCommitted: () => relay.wake(),
  });
  let refresh: { stop(): void } | undefined;

  return {
    name: "inventory",
    routes: (router) => {
      router.service(InventoryService, service);
    },
    start: async () => {
      relay.start();
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
      await relay.stop();
    },
  };
}
