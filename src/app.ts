/**
 * The composition root: configuration → platform (database, bus, cache, auth) → the modules this
 * process hosts → one server. It is the only file that knows every module, and the place where
 * each service's client gets its transport: in-process when the module is hosted here, over the
 * network when its *_URL is set.
 */
import type { ConnectRouter, Transport } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { getRequestListener } from "@hono/node-server";
import { createGatewayApp } from "./gateway/gateway-app.js";
import type { ReadinessCheck } from "./gateway/operations-routes.js";
import { InventoryService } from "./gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { StockService } from "./gen/ecommerce/inventory/v1/stock_service_pb.js";
import { OrderService } from "./gen/ecommerce/orders/v1/order_service_pb.js";
import { StatisticsService } from "./gen/ecommerce/statistics/v1/statistics_service_pb.js";
import { mountInventory } from "./modules/inventory/index.js";
import { mountOrders } from "./modules/orders/index.js";
import { mountStatistics } from "./modules/statistics/index.js";
import { Authenticator } from "./platform/auth/authenticator.js";
import { resolveJwtSecret } from "./platform/auth/jwt-secret.js";
import { mintToken } from "./platform/auth/mint-token.js";
import { TokenVerifier } from "./platform/auth/token-verifier.js";
import { createRedisStore } from "./platform/cache/redis-store.js";
import type { SecondLevelStore } from "./platform/cache/second-level-store.js";
import type { Config } from "./platform/config.js";
import { type Database, openDatabase } from "./platform/db/database.js";
import type { EventBus } from "./platform/events/event-bus.js";
import { createInProcessBus } from "./platform/events/in-process-bus.js";
import { createJetStreamBus } from "./platform/events/jetstream-bus.js";
import type { Logger } from "./platform/logger.js";
import { createMetricsRegistry, type Registry } from "./platform/metrics.js";
import type { MountedModule, Platform } from "./platform/module.js";
import { listenOnePort } from "./platform/server/one-port-server.js";
import { createInProcessTransport } from "./platform/transport/in-process-transport.js";

export interface RunningApp {
  readonly port: number;
  readonly jwtSecret: string;
  /** True when the secret was generated into DATA_DIR rather than configured. */
  readonly generatedSecret: boolean;
  readonly metrics: Registry;
  /** Graceful stop: no new connections, in-flight requests finish, background work stops. */
  stop(): Promise<void>;
}

export async function startApp(config: Config, logger: Logger): Promise<RunningApp> {
  const { secret, generated } = resolveJwtSecret(config.jwtSecret, config.dataDir);
  const metrics = createMetricsRegistry({ defaultMetrics: true });
  const hostsDataModule = ["inventory", "orders", "statistics"].some((name) =>
    config.modules.has(name as never),
  );

  const closers: (() => Promise<void>)[] = [];
  const readiness: ReadinessCheck[] = [];
  try {
    let database: Database | undefined;
    if (hostsDataModule) {
      database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, logger });
      const db = database;
      closers.unshift(() => db.close());
      readiness.push({ name: "database", check: () => db.ping() });
    }

    const bus: EventBus = config.natsUrl
      ? createJetStreamBus({ url: config.natsUrl, namespace: config.namespace, logger })
      : createInProcessBus({ logger });
    closers.unshift(() => bus.close());
    if (config.natsUrl) readiness.push({ name: "nats", check: () => bus.ping() });

    let cacheStore: SecondLevelStore | undefined;
    if (config.redisUrl) {
      const store = createRedisStore({ url: config.redisUrl, namespace: config.namespace, logger });
      cacheStore = store;
      closers.unshift(() => store.close());
      readiness.push({ name: "redis", check: () => store.ping() });
    }

    const modules: MountedModule[] = [];
    const routes = (router: ConnectRouter) => {
      for (const module of modules) module.routes(router);
    };
    // Built on first use, once every module hosted here is mounted and has registered its services.
    let localTransport: Transport | undefined;
    const local = () => (localTransport ??= createInProcessTransport(routes));
    const inProcess: Transport = {
      unary: (...args) => local().unary(...args),
      stream: (...args) => local().stream(...args),
    };
    const transportFor = (url: string | undefined): Transport =>
      url === undefined ? inProcess : createConnectTransport({ baseUrl: url, httpVersion: "1.1" });

    if (database !== undefined) {
      const platform: Platform = {
        config,
        database,
        bus,
        cacheStore,
        auth: new Authenticator(new TokenVerifier(secret)),
        serviceToken: await mintToken(secret, { sub: "service", role: "admin" }),
        logger,
        metrics,
      };
      if (config.modules.has("inventory")) modules.push(mountInventory(platform));
      if (config.modules.has("orders")) {
        const inventoryTransport = transportFor(config.inventoryUrl);
        modules.push(
          mountOrders(platform, {
            stock: createClient(StockService, inventoryTransport),
            inventory: createClient(InventoryService, inventoryTransport),
          }),
        );
      }
      if (config.modules.has("statistics")) modules.push(mountStatistics(platform));
    }

    let fallback: ReturnType<typeof getRequestListener> | undefined;
    if (config.modules.has("gateway")) {
      const app = createGatewayApp({
        clients: {
          inventory: createClient(InventoryService, transportFor(config.inventoryUrl)),
          orders: createClient(OrderService, transportFor(config.ordersUrl)),
          statistics: createClient(StatisticsService, transportFor(config.statisticsUrl)),
        },
        readiness,
        metrics,
        logger,
      });
      fallback = getRequestListener(app.fetch);
    }

    for (const module of modules) await module.start();
    closers.unshift(async () => {
      for (const module of modules) await module.stop();
    });

    const server = await listenOnePort({
      port: config.port,
      host: config.host,
      listener: splitByPath(connectNodeAdapter({ routes }), fallback),
    });
    closers.unshift(() => server.close());

    return {
      port: server.port,
      jwtSecret: secret,
      generatedSecret: generated,
      metrics,
      stop: () => runClosers(closers, logger),
    };
  } catch (error) {
    await runClosers(closers, logger);
    throw error;
  }
}

type Listener = Parameters<typeof listenOnePort>[0]["listener"];

/**
 * RPC paths are `/<package>.<Service>/<Method>` and every package starts with "ecommerce.", so one
 * prefix check sends each request straight to its handler: REST requests skip Connect's router.
 */
function splitByPath(rpc: Listener, rest: Listener | undefined): Listener {
  if (rest === undefined) return rpc;
  return (request, response) => {
    if (request.url?.startsWith("/ecommerce.")) rpc(request, response);
    else rest(request, response);
  };
}

async function runClosers(closers: (() => Promise<void>)[], logger: Logger): Promise<void> {
  for (const close of closers.splice(0)) {
    try {
      await close();
    } catch (error) {
      logger.warn({ err: error }, "error while stopping");
    }
  }
}
