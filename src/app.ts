/**
 * The composition root: configuration → platform (database, bus, cache, auth) → the modules this
 * process hosts → one server. It is the only file that knows every module, and the place where
 * each service's client gets its transport: in-process when the module is hosted here, over the
 * network when its *_URL is set.
 */
import type { ConnectRouter, HandlerContext, Transport } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { createGatewayListener } from "./gateway/gateway-app.js";
import type { ReadinessCheck } from "./gateway/operations-routes.js";
import { problem } from "./gateway/problem.js";
import { InventoryService } from "./gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { StockService } from "./gen/ecommerce/inventory/v1/stock_service_pb.js";
import { OrderService } from "./gen/ecommerce/orders/v1/order_service_pb.js";
import { StatisticsService } from "./gen/ecommerce/statistics/v1/statistics_service_pb.js";
import { mountInventory } from "./modules/inventory/index.js";
import { mountOrders } from "./modules/orders/index.js";
import { mountStatistics } from "./modules/statistics/index.js";
import { Authenticator, resolveJwtSecret, ServiceCredential, TokenVerifier } from "./platform/auth/index.js";
import { createRedisStore, type SecondLevelStore } from "./platform/cache/index.js";
import type { Config } from "./platform/config.js";
import { BACKGROUND_STATEMENT_LIMITS, openDatabase, requestStatementLimits } from "./platform/db/index.js";
import { reportHandlerFailure, reportingFailures } from "./platform/errors/index.js";
import { createInProcessBus, createJetStreamBus, type EventBus } from "./platform/events/index.js";
import { Lifecycle, type StopOptions, type StopReport } from "./platform/lifecycle.js";
import type { Logger } from "./platform/logger.js";
import { createMetricsRegistry, type Registry } from "./platform/metrics.js";
import type { MountedModule, Platform } from "./platform/module.js";
import { textCheckingRouter } from "./platform/rpc/index.js";
import { capRpcDeadline, listenOnePort } from "./platform/server/index.js";
import {
  connectionLossIsUnavailable,
  createInProcessTransport,
  forwardService,
  withDefaultTimeout,
} from "./platform/transport/index.js";

export interface RunningApp {
  readonly port: number;
  readonly jwtSecret: string;
  /** True when the secret was generated into DATA_DIR rather than configured. */
  readonly generatedSecret: boolean;
  readonly metrics: Registry;
  /**
   * Graceful stop, in this order: the port refuses new connections and every request in progress
   * finishes (for up to `drainMs`, default 10 s, after which the connections still busy are cut);
   * then each module stops its background work after the unit in progress (a consumer after its
   * current event, a relay after its batch, which then flushes what is left); then the cache, the
   * event bus and the database close. Resolves with what had to be abandoned (empty when nothing
   * was); calling it again returns the same promise.
   */
  stop(options?: StopOptions): Promise<StopReport>;
  /** While a stop runs: the steps not finished yet, described (for a log line if a deadline hits). */
  stopProgress(): string[];
}

export type { StopOptions, StopReport };

export async function startApp(config: Config, logger: Logger): Promise<RunningApp> {
  const { secret, generated } = resolveJwtSecret(config.jwtSecret, config.dataDir);
  const metrics = createMetricsRegistry({ defaultMetrics: true });
  const hostsDataModule = ["inventory", "orders", "statistics"].some((name) =>
    config.modules.has(name as never),
  );
  const readiness: ReadinessCheck[] = [];
  /** Set the moment a stop begins: /readyz answers 503 from then on, on open connections too. */
  let draining = false;

  // The steps below start in this order and stop in the reverse one (lifecycle.ts): the port, then
  // the modules, then the cache, the event bus and the database.
  const life = new Lifecycle(logger);
  try {
    const database = !hostsDataModule
      ? undefined
      : await life.run({
          name: "database",
          start: async () => {
            const opened = await openDatabase({
              url: config.databaseUrl,
              dataDir: config.dataDir,
              logger,
              requestLimits: requestStatementLimits(config.rpcTimeoutMs),
              backgroundLimits: BACKGROUND_STATEMENT_LIMITS,
            });
            readiness.push({ name: "database", check: () => opened.ping() });
            return opened;
          },
          stop: (opened) => opened?.close(),
        });

    const bus = await life.run<EventBus>({
      name: "event bus",
      start: () => {
        if (!config.natsUrl) return createInProcessBus({ logger });
        const jetStream = createJetStreamBus({ url: config.natsUrl, namespace: config.namespace, logger });
        readiness.push({ name: "nats", check: () => jetStream.ping() });
        return jetStream;
      },
      stop: (started) => started?.close(),
    });

    const { redisUrl } = config;
    const cacheStore: SecondLevelStore | undefined = !redisUrl
      ? undefined
      : await life.run({
          name: "redis",
          start: () => {
            const store = createRedisStore({
              url: redisUrl,
              namespace: config.namespace,
              logger,
              metrics,
            });
            readiness.push({ name: "redis", check: () => store.ping() });
            return store;
          },
          stop: (store) => store?.close(),
        });

    const modules: MountedModule[] = [];
    /** Public services of modules hosted elsewhere, served on this port by the gateway. */
    const forwarded: ((router: ConnectRouter) => void)[] = [];
    const routes = (router: ConnectRouter) => {
      // Forwarded services are checked by the process that hosts them.
      const checked = textCheckingRouter(router);
      for (const module of modules) module.routes(checked);
      for (const forward of forwarded) forward(router);
    };
    // What a method throws reaches its caller as a public error, logged once (public-error.ts).
    const onHandlerError = (thrown: unknown, context: HandlerContext) =>
      reportHandlerFailure(logger, thrown, context);
    // Built on first use, once every module hosted here is mounted and has registered its services.
    let localTransport: Transport | undefined;
    const local = () => (localTransport ??= createInProcessTransport(routes, { onHandlerError }));
    const inProcess: Transport = {
      unary: (...args) => local().unary(...args),
      stream: (...args) => local().stream(...args),
    };
    const transportFor = (url: string | undefined): Transport =>
      url === undefined
        ? inProcess
        : createConnectTransport({
            baseUrl: url,
            // HTTP/2 (cleartext, prior knowledge: the one-port server recognises the preface): one
            // multiplexed session per module, and 40–60 % of connect-node's HTTP/1.1 CPU per
            // call measured on these machines (BENCHMARKS.md, "Four processes vs one").
            httpVersion: "2",
            interceptors: [connectionLossIsUnavailable],
          });

    if (database !== undefined) {
      const platform: Platform = {
        config,
        database,
        bus,
        cacheStore,
        auth: new Authenticator(new TokenVerifier(secret)),
        serviceCredential: new ServiceCredential(secret, { caller: [...config.modules].join("+") }),
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

    let fallback: Listener | undefined;
    if (config.modules.has("gateway")) {
      // Every call from the gateway to a module carries RPC_TIMEOUT_MS as its deadline.
      const gatewayTransport = (url: string | undefined) =>
        withDefaultTimeout(transportFor(url), config.rpcTimeoutMs);
      const clients = {
        inventory: createClient(InventoryService, gatewayTransport(config.inventoryUrl)),
        orders: createClient(OrderService, gatewayTransport(config.ordersUrl)),
        statistics: createClient(StatisticsService, gatewayTransport(config.statisticsUrl)),
      };
      // The one port serves every module service, wherever the module runs.
      if (config.inventoryUrl !== undefined)
        forwarded.push((router) => forwardService(router, InventoryService, clients.inventory));
      if (config.ordersUrl !== undefined)
        forwarded.push((router) => forwardService(router, OrderService, clients.orders));
      if (config.statisticsUrl !== undefined)
        forwarded.push((router) => forwardService(router, StatisticsService, clients.statistics));
      fallback = createGatewayListener({
        clients,
        readiness,
        draining: () => draining,
        metrics,
        logger,
        maxBodyBytes: config.maxBodyBytes,
      });
    }

    // Started in reverse mounting order: consumers (statistics) subscribe before the relays of the
    // modules they listen to start, so an event left in an outbox never finds its group missing.
    // Stopped in mounting order: a module's relay flushes its last events before the modules after
    // it (statistics, last) stop consuming.
    const started: MountedModule[] = [];
    let stoppingModule: string | undefined;
    await life.run({
      name: "modules",
      start: async () => {
        for (const module of [...modules].reverse()) {
          await module.start();
          started.push(module);
        }
      },
      stop: async () => {
        for (const module of [...started].reverse()) {
          stoppingModule = module.name;
          // One module failing to stop must not keep the others running.
          await module.stop().catch((error: unknown) => {
            logger.warn({ err: error, module: module.name }, "error while stopping a module");
          });
        }
        stoppingModule = undefined;
      },
      describe: () => `stopping module ${stoppingModule ?? "(none)"}`,
    });

    const server = await life.run({
      name: "http",
      start: () =>
        listenOnePort({
          port: config.port,
          host: config.host,
          // Connect, gRPC and gRPC-Web bodies: connect-node stops reading, and inflating, at the limit.
          listener: splitByPath(
            capRpcDeadline(
              connectNodeAdapter({
                routes,
                readMaxBytes: config.maxBodyBytes,
                interceptors: [reportingFailures(logger)],
              }),
              config.rpcTimeoutMs,
            ),
            fallback,
          ),
          maxBodyBytes: config.maxBodyBytes,
          malformedRequestAnswer: (status, detail) => ({
            contentType: "application/problem+json",
            body: JSON.stringify(problem(status, "invalid_argument", detail)),
          }),
        }),
      stop: async (listening, { drainMs }) => {
        draining = true;
        if (listening === undefined) return undefined;
        const { abandoned } = await listening.close(drainMs);
        if (abandoned === 0) return undefined;
        const what = `${abandoned} connection(s) cut with a request still in progress after ${drainMs ?? 10_000} ms`;
        logger.warn({ abandoned }, `shutdown: ${what}`);
        return what;
      },
      describe: (listening) => {
        if (listening === undefined) return "not listening";
        const { connections, busy } = listening.activity();
        return `${connections} connection(s) open, ${busy} with a request in progress`;
      },
    });

    return {
      port: server.port,
      jwtSecret: secret,
      generatedSecret: generated,
      metrics,
      stop: (options) => life.stop(options),
      stopProgress: () => life.progress(),
    };
  } catch (error) {
    await life.stop({ drainMs: 0 });
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
