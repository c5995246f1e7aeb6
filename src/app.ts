/**
 * The composition root: configuration → platform (database, bus, cache, auth) → the modules this
 * process hosts → one server, as an ordered list of lifecycle steps (src/composition/ holds each
 * step, which modules are hosted here, and where each service's client gets its transport).
 */
import { hostServices } from "./composition/hosted-services.js";
import {
  cachePeersStep,
  databaseStep,
  eventBusStep,
  redisStep,
  type StepContext,
  tracingStep,
} from "./composition/platform-steps.js";
import { httpStep, modulesStep } from "./composition/serving-steps.js";
import { Authenticator, resolveJwtSecret, ServiceCredential, TokenVerifier } from "./platform/auth/index.js";
import { type CachePeers, InProcessCachePeers } from "./platform/cache/index.js";
import type { Config } from "./platform/config.js";
import { Lifecycle, type StopOptions, type StopReport } from "./platform/lifecycle.js";
import type { Logger } from "./platform/logger.js";
import { createMetricsRegistry, type Registry } from "./platform/metrics.js";
import type { Platform } from "./platform/module.js";

export interface RunningApp {
  readonly port: number;
  readonly jwtSecret: string;
  /** True when the secret was generated into DATA_DIR rather than configured. */
  readonly generatedSecret: boolean;
  readonly metrics: Registry;
  /**
   * Graceful stop, in this order: every open watch (WatchOrders, GET /orders/events) ends at once,
   * the port refuses new connections and every request in progress finishes (for up to `drainMs`,
   * default 10 s, after which the connections still busy are cut);
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
  const context: StepContext = { config, logger, metrics, readiness: [] };
  /**
   * Aborted the moment a stop begins: /readyz answers 503 from then on, on open connections too,
   * and every open watch (a server stream, an event stream) ends rather than hold the drain.
   */
  const stopping = new AbortController();

  // The steps start in this order and stop in the reverse one, each once (lifecycle.ts): the
  // port, then the modules, then the cache, the event bus, the database and tracing.
  const life = new Lifecycle(logger);
  try {
    if (config.tracing !== undefined) await life.run(tracingStep(config.tracing, logger));
    // First: its lease takes a lease's time to be trusted (writes wait until then), which passes
    // while the rest starts (docs/cache-protocol.md, "(e)").
    const cachePeers = await productCopyPeers(life, context);
    const database = hostsDataModule(config) ? await life.run(databaseStep(context)) : undefined;
    const bus = await life.run(eventBusStep(context));
    const cacheStore = config.redisUrl ? await life.run(redisStep(context, config.redisUrl)) : undefined;
    // What this process shows other processes' internal services (the orders module's stock calls,
    // the gateway's batches of orders).
    const serviceCredential = new ServiceCredential(secret, { caller: [...config.modules].join("+") });
    const platform: Platform | undefined = database && {
      config,
      database,
      bus,
      cacheStore,
      cachePeers,
      auth: new Authenticator(new TokenVerifier(secret)),
      serviceCredential,
      logger,
      metrics,
      stopping: stopping.signal,
    };
    const services = hostServices({
      ...context,
      platform,
      cachePeers,
      serviceCredential,
      stopping: stopping.signal,
    });
    await life.run(modulesStep(services.modules, logger));
    const onDraining = () => stopping.abort();
    const server = await life.run(httpStep({ config, logger, metrics, services, onDraining }));
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

/**
 * Whether this process keeps products in memory: inventory's cache, or the edge copy of a gateway
 * whose inventory runs elsewhere. Only these take part in the freshness lease.
 */
function keepsProductCopies(config: Config): boolean {
  return (
    config.modules.has("inventory") || (config.modules.has("gateway") && config.inventoryUrl !== undefined)
  );
}

/**
 * What keeps this process's in-memory product copies fresh, when it keeps any: the lease over
 * Redis, or, without Redis, in-process peers for the gateway's edge copy beside inventory's cache
 * (docs/cache-protocol.md, "(e)").
 */
async function productCopyPeers(life: Lifecycle, context: StepContext): Promise<CachePeers | undefined> {
  const { config } = context;
  if (config.redisUrl !== undefined)
    return keepsProductCopies(config) ? life.run(cachePeersStep(context, config.redisUrl)) : undefined;
  return config.modules.has("inventory") && config.modules.has("gateway")
    ? new InProcessCachePeers()
    : undefined;
}

/** Whether this process hosts a module that keeps data (and so needs the database). */
function hostsDataModule(config: Config): boolean {
  return config.modules.has("inventory") || config.modules.has("orders") || config.modules.has("statistics");
}
