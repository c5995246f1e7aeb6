/** The orders module's only public entry: how the composition root mounts it. */
import type { Client } from "@connectrpc/connect";
import type { InventoryService } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import type { StockService } from "../../gen/ecommerce/inventory/v1/stock_service_pb.js";
import { OrderService } from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import { OutboxRelay } from "../../platform/events/outbox-relay.js";
import type { MountedModule, Platform } from "../../platform/module.js";
import { IdempotencyStore } from "./idempotency-store.js";
import { createOrderHandlers } from "./order-service.js";
import { OrderStore } from "./order-store.js";
import { createReviewHandlers } from "./review-handlers.js";
import { ReviewStore } from "./review-store.js";
import { ordersOutbox } from "./schema.js";

export interface OrdersDependencies {
  /** Inventory's internal stock service, in-process or over the network. */
  stock: Client<typeof StockService>;
  /** Inventory's public catalog service (does a reviewed product exist?). */
  inventory: Client<typeof InventoryService>;
}

const PURGE_INTERVAL_MS = 60 * 60 * 1000;

export function mountOrders(platform: Platform, dependencies: OrdersDependencies): MountedModule {
  const { database, bus, logger, metrics } = platform;
  const log = logger.child({ module: "orders" });
  const idempotency = new IdempotencyStore(database.db);
  const relay = new OutboxRelay({
    name: "orders",
    db: database.db,
    table: ordersOutbox,
    bus,
    logger: log,
    metrics,
  });
  const orderHandlers = createOrderHandlers({
    orders: new OrderStore(database.db),
    idempotency,
    stock: dependencies.stock,
    auth: platform.auth,
    serviceToken: platform.serviceToken,
    logger: log,
    onEventsCommitted: () => relay.wake(),
  });
  const reviewHandlers = createReviewHandlers({
    reviews: new ReviewStore(database.db),
    inventory: dependencies.inventory,
    auth: platform.auth,
  });
  let purge: NodeJS.Timeout | undefined;

  return {
    name: "orders",
    routes: (router) => {
      router.service(OrderService, { ...orderHandlers, ...reviewHandlers });
    },
    start: async () => {
      relay.start();
      purge = setInterval(() => {
        idempotency
          .purgeExpired()
          .catch((error: unknown) => log.warn({ err: error }, "idempotency key purge failed"));
      }, PURGE_INTERVAL_MS);
      purge.unref();
    },
    stop: async () => {
      clearInterval(purge);
      await relay.stop();
    },
  };
}
