/** The orders module's only public entry: how the composition root mounts it. */
import type { Client } from "@connectrpc/connect";
import type { InventoryService } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import type { StockService } from "../../gen/ecommerce/inventory/v1/stock_service_pb.js";
import { OrderBatchService } from "../../gen/ecommerce/orders/v1/order_batch_service_pb.js";
import { OrderService } from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import { OutboxRelay } from "../../platform/events/index.js";
import { type IntervalJob, startIntervalJob } from "../../platform/jobs/index.js";
import type { Logger } from "../../platform/logger.js";
import { Gauge } from "../../platform/metrics.js";
import type { MountedModule, Platform } from "../../platform/module.js";
import { IdempotencyStore } from "./idempotency-store.js";
import { createOrdersHandler } from "./order-batch-handler.js";
import { createOrderHandlers } from "./order-service.js";
import { OrderStore } from "./order-store.js";
import { OrderWatch } from "./order-watch.js";
import { startPendingOrderExpiry } from "./pending-order-expiry.js";
import { createReviewHandlers } from "./review-handlers.js";
import { ReviewStore } from "./review-store.js";
import { ordersOutbox } from "./schema.js";
import { createStockCalls, type StockCalls } from "./stock-calls.js";
import { StockCommandStore } from "./stock-command-store.js";
import { returnCancelledStock, startStockSettlement } from "./stock-settlement.js";

export interface OrdersDependencies {
  /** Inventory's internal stock service, in-process or over the network. */
  stock: Client<typeof StockService>;
  /** Inventory's public catalog service (does a reviewed product exist?). */
  inventory: Client<typeof InventoryService>;
}

const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/** What the module's handlers and its background jobs share. */
interface OrdersParts {
  config: Platform["config"];
  logger: Logger;
  orders: OrderStore;
  commands: StockCommandStore;
  stock: StockCalls;
  idempotency: IdempotencyStore;
  onEventsCommitted: () => void;
}

export function mountOrders(platform: Platform, dependencies: OrdersDependencies): MountedModule {
  const { database, bus, logger, metrics } = platform;
  const log = logger.child({ module: "orders" });
  // An unfinished Idempotency-Key claim is its attempt's for twice the longest a request may run.
  const idempotency = new IdempotencyStore(database.db, 2 * platform.config.rpcTimeoutMs);
  const relay = new OutboxRelay({
    name: "orders",
    db: database.backgroundDb,
    table: ordersOutbox,
    bus,
    logger: log,
    metrics,
  });
  // A stock command waits this long for its own request before the settlement job takes it, well
  // inside the reservation timeout so a confirmation left by a crash lands before inventory gives
  // the stock back.
  const commandGraceMs = Math.min(2000, platform.config.reservationTimeoutMs / 4);
  const commands = new StockCommandStore(database.db);
  const parts: OrdersParts = {
    config: platform.config,
    logger: log,
    orders: new OrderStore(database.db, commands, commandGraceMs),
    commands,
    stock: createStockCalls(dependencies.stock, platform.serviceCredential, {
      databaseServer: database.serverIdentity,
      batchReservations: platform.config.inventoryUrl !== undefined,
    }),
    idempotency,
    onEventsCommitted: () => relay.wake(),
  };
  const watch = new OrderWatch({ bus, logger: log });
  new Gauge({
    name: "order_watchers",
    help: "Open WatchOrders streams of this process (admins watching orders live)",
    registers: [metrics],
    collect() {
      this.set(watch.watching);
    },
  });
  // An open watch would hold the port's drain to its deadline: it ends the moment a stop begins.
  platform.stopping.addEventListener("abort", () => void watch.close(), { once: true });
  const orderHandlers = createOrderHandlers({
    ...parts,
    auth: platform.auth,
    watch,
    maxPendingOrders: platform.config.maxPendingOrders,
  });
  const reviewHandlers = createReviewHandlers({
    reviews: new ReviewStore(database.db),
    inventory: dependencies.inventory,
    auth: platform.auth,
  });
  let purge: IntervalJob | undefined;
  let settlement: IntervalJob | undefined;
  let expiry: IntervalJob | undefined;

  return {
    name: "orders",
    routes: (router) => {
      router.service(OrderService, { ...orderHandlers, ...reviewHandlers });
      router.service(OrderBatchService, {
        createOrders: createOrdersHandler({ auth: platform.auth, logger: log }, orderHandlers.createOrder),
      });
    },
    start: async () => {
      relay.start();
      settlement = startSettlement(parts);
      expiry = startExpiry(parts);
      purge = startPurge(parts);
    },
    stop: async () => {
      await watch.close();
      await expiry?.stop();
      await purge?.stop();
      await settlement?.stop();
      await relay.stop();
    },
  };
}

/** Carries out the stock commands their requests left owed (stock-settlement.ts). */
function startSettlement(parts: OrdersParts): IntervalJob {
  const { config, logger, orders, commands, stock, onEventsCommitted } = parts;
  return startStockSettlement({
    commands,
    confirm: stock.confirm,
    release: stock.release,
    cancelLapsed: async (orderId) => {
      const cancelled = await orders.changeStatus(orderId, "pending", "cancelled");
      if (cancelled !== undefined) onEventsCommitted();
      return cancelled !== undefined;
    },
    logger,
    intervalMs: Math.max(100, Math.min(1000, config.reservationTimeoutMs / 8)),
    leaseMs: 30_000,
    retryMs: 1_000,
  });
}

/** Cancels orders left pending too long (pending-order-expiry.ts). */
function startExpiry(parts: OrdersParts): IntervalJob {
  const { config, logger, orders, commands, stock, onEventsCommitted } = parts;
  const pendingOrderTtlMs = config.pendingOrderTtlMs;
  return startPendingOrderExpiry({
    orders,
    returnStock: (orderId) => returnCancelledStock({ release: stock.release, commands, logger }, orderId),
    onEventsCommitted,
    logger,
    ttlMs: pendingOrderTtlMs,
    // Several sweeps per TTL, so an order goes soon after its time; at least every minute.
    intervalMs: Math.max(250, Math.min(60_000, pendingOrderTtlMs / 4)),
  });
}

/** Deletes Idempotency-Keys past their 24 hours. */
function startPurge({ logger, idempotency }: OrdersParts): IntervalJob {
  return startIntervalJob({
    name: "idempotency key purge",
    intervalMs: PURGE_INTERVAL_MS,
    logger,
    sweep: async () => {
      await idempotency.purgeExpired();
    },
  });
}
