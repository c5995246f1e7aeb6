/**
 * What this process serves: the modules it hosts (mounted on the platform, orders given clients of
 * inventory wherever inventory runs) and, with the gateway, the REST edge plus the public services
 * of modules hosted elsewhere, forwarded so that the one port serves every service. The only code
 * that knows every module.
 */
import type { Client, ConnectRouter } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createGatewayListener, createOperationsListener, type RestSide } from "../gateway/gateway-app.js";
import { withProductEdgeCache } from "../gateway/product-edge-cache.js";
import { InventoryService } from "../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { StockService } from "../gen/ecommerce/inventory/v1/stock_service_pb.js";
import { OrderBatchService } from "../gen/ecommerce/orders/v1/order_batch_service_pb.js";
import { OrderService } from "../gen/ecommerce/orders/v1/order_service_pb.js";
import { StatisticsService } from "../gen/ecommerce/statistics/v1/statistics_service_pb.js";
import { mountInventory } from "../modules/inventory/index.js";
import { mountOrders } from "../modules/orders/index.js";
import { mountStatistics } from "../modules/statistics/index.js";
import type { ServiceCredential } from "../platform/auth/index.js";
import type { CachePeers } from "../platform/cache/index.js";
import type { MountedModule, Platform } from "../platform/module.js";
import { RpcMetrics } from "../platform/observability/index.js";
import { textCheckingRouter } from "../platform/rpc/index.js";
import { forwardService, withDefaultTimeout } from "../platform/transport/index.js";
import { moduleProcessChecks } from "./module-process-checks.js";
import { ModuleTransports } from "./module-transports.js";
import type { StepContext } from "./platform-steps.js";

export interface HostedServices {
  /** In mounting order: inventory, orders, statistics (those hosted here). */
  readonly modules: readonly MountedModule[];
  /** Registers every Connect service this port serves. */
  readonly routes: (router: ConnectRouter) => void;
  /** The REST side: the gateway's routes when hosted here, else only /healthz, /readyz, /metrics. */
  readonly rest: RestSide;
  /** Connect calls by method and code, both sides (the port's handlers record theirs here too). */
  readonly rpcMetrics: RpcMetrics;
}

export interface HostingOptions extends StepContext {
  /** The platform the modules run on; undefined when this process hosts no module with data. */
  readonly platform: Platform | undefined;
  /**
   * What keeps in-memory product copies fresh (the lease over Redis, or in-process peers beside
   * inventory), for a gateway's edge copy; undefined when this process keeps none.
   */
  readonly cachePeers: CachePeers | undefined;
  /** What this process shows other processes' internal services. */
  readonly serviceCredential: Pick<ServiceCredential, "authorization">;
  /** Aborted the moment the process starts stopping. */
  readonly stopping: AbortSignal;
}

export function hostServices(options: HostingOptions): HostedServices {
  const { config } = options;
  const modules: MountedModule[] = [];
  /** Public services of modules hosted elsewhere, served on this port by the gateway. */
  const forwarded: ((router: ConnectRouter) => void)[] = [];
  const routes = (router: ConnectRouter) => {
    // Forwarded services are checked by the process that hosts them.
    const checked = textCheckingRouter(router);
    for (const module of modules) module.routes(checked);
    for (const forward of forwarded) forward(router);
  };
  const rpcMetrics = new RpcMetrics(options.metrics);
  const transports = new ModuleTransports(routes, options.logger, rpcMetrics);
  if (options.platform !== undefined) modules.push(...mountModules(options.platform, transports));
  options.readiness.push(...moduleProcessChecks(config));
  const edge = {
    readiness: options.readiness,
    draining: () => options.stopping.aborted,
    metrics: options.metrics,
    logger: options.logger,
    maxBodyBytes: config.maxBodyBytes,
  };
  if (!config.modules.has("gateway"))
    return { modules, routes, rest: createOperationsListener(edge), rpcMetrics };

  // Every call from the gateway to a module carries RPC_TIMEOUT_MS as its deadline.
  const gatewayTransport = (url: string | undefined) =>
    withDefaultTimeout(transports.to(url), config.rpcTimeoutMs);
  const clients = {
    inventory: createClient(InventoryService, gatewayTransport(config.inventoryUrl)),
    orders: createClient(OrderService, gatewayTransport(config.ordersUrl)),
    statistics: createClient(StatisticsService, gatewayTransport(config.statisticsUrl)),
  };
  const forwarding = { stopping: options.stopping };
  if (config.inventoryUrl !== undefined)
    forwarded.push((router) => forwardService(router, InventoryService, clients.inventory, forwarding));
  if (config.ordersUrl !== undefined)
    forwarded.push((router) => forwardService(router, OrderService, clients.orders, forwarding));
  if (config.statisticsUrl !== undefined)
    forwarded.push((router) => forwardService(router, StatisticsService, clients.statistics, forwarding));
  const productCopy = productEdgeCopy(clients.inventory, options);
  const rest = createGatewayListener({
    ...edge,
    clients: { ...clients, inventory: productCopy?.client ?? clients.inventory },
    cachedProduct: productCopy?.cached,
    // Orders in another process: concurrent orders go to it together (order-placement.ts).
    orderBatching:
      config.ordersUrl === undefined
        ? undefined
        : {
            client: createClient(OrderBatchService, gatewayTransport(config.ordersUrl)),
            credential: () => options.serviceCredential.authorization(),
            timeoutMs: config.rpcTimeoutMs,
          },
    stopping: options.stopping,
    storeCurrency: config.storeCurrency,
  });
  return { modules, routes, rest, rpcMetrics };
}

/**
 * The gateway's edge copy of products (product-edge-cache.ts), wherever peers keep it fresh —
 * inventory in this process, or in another with Redis: the REST routes' inventory client answers
 * anonymous product reads from it.
 */
function productEdgeCopy(inventory: Client<typeof InventoryService>, options: HostingOptions) {
  const { cachePeers } = options;
  if (cachePeers === undefined) return undefined;
  return withProductEdgeCache(inventory, {
    peers: cachePeers,
    metrics: options.metrics,
    logger: options.logger,
  });
}

/** The modules this process hosts, in mounting order. */
function mountModules(platform: Platform, transports: ModuleTransports): MountedModule[] {
  const { config } = platform;
  const modules: MountedModule[] = [];
  if (config.modules.has("inventory")) modules.push(mountInventory(platform));
  if (config.modules.has("orders")) {
    const inventoryTransport = transports.to(config.inventoryUrl);
    modules.push(
      mountOrders(platform, {
        stock: createClient(StockService, inventoryTransport),
        inventory: createClient(InventoryService, inventoryTransport),
      }),
    );
  }
  if (config.modules.has("statistics")) modules.push(mountStatistics(platform));
  return modules;
}
