/**
 * The platform steps of the composition root, each a lifecycle step with its start and its stop:
 * the database, the event bus and the Redis cache layer. Each one that can fail at run time adds
 * its readiness check (/readyz names it when it does not answer).
 */
import type { ReadinessCheck } from "../gateway/operations-routes.js";
import {
  createRedisCachePeers,
  createRedisStore,
  type RedisCachePeers,
  type SecondLevelStore,
} from "../platform/cache/index.js";
import type { Config } from "../platform/config.js";
import {
  BACKGROUND_STATEMENT_LIMITS,
  type Database,
  openDatabase,
  requestStatementLimits,
} from "../platform/db/index.js";
import { createInProcessBus, createJetStreamBus, type EventBus } from "../platform/events/index.js";
import type { Step } from "../platform/lifecycle.js";
import type { Logger } from "../platform/logger.js";
import type { Registry } from "../platform/metrics.js";
import { startTracing, type Tracing } from "../platform/observability/index.js";
import type { TracingConfig } from "../platform/tracing-config.js";

export interface StepContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** Where each step adds the check /readyz runs. */
  readonly readiness: ReadinessCheck[];
}

/** PostgreSQL at DATABASE_URL, or the embedded one in DATA_DIR; two pools with statement limits. */
export function databaseStep({ config, logger, readiness }: StepContext): Step<Database> {
  return {
    name: "database",
    start: async () => {
      const opened = await openDatabase({
        url: config.databaseUrl,
        dataDir: config.dataDir,
        logger,
        maxConnections: config.databasePoolSize,
        requestLimits: requestStatementLimits(config.rpcTimeoutMs),
        backgroundLimits: BACKGROUND_STATEMENT_LIMITS,
      });
      readiness.push({ name: "database", check: () => opened.ping() });
      return opened;
    },
    stop: (opened) => opened?.close(),
  };
}

/** JetStream when NATS_URL is set (connecting in the background), else the in-process bus. */
export function eventBusStep({ config, logger, readiness }: StepContext): Step<EventBus> {
  return {
    name: "event bus",
    start: () => {
      if (!config.natsUrl) return createInProcessBus({ logger });
      const jetStream = createJetStreamBus({ url: config.natsUrl, namespace: config.namespace, logger });
      readiness.push({ name: "nats", check: () => jetStream.ping() });
      return jetStream;
    },
    stop: (started) => started?.close(),
  };
}

/** The Redis layer of the product cache at `redisUrl` (REDIS_URL). */
export function redisStep(
  { config, logger, metrics, readiness }: StepContext,
  redisUrl: string,
): Step<SecondLevelStore> {
  return {
    name: "redis",
    start: () => {
      const store = createRedisStore({ url: redisUrl, namespace: config.namespace, logger, metrics });
      readiness.push({ name: "redis", check: () => store.ping() });
      return store;
    },
    stop: (store) => store?.close(),
  };
}

/**
 * The freshness lease of every in-memory product copy, over Redis pub/sub (REDIS_URL): what lets
 * L1 answer in replicas and a split gateway while a write through any process is never followed
 * by its old value (docs/cache-protocol.md, "(e) L1 under a freshness lease").
 */
export function cachePeersStep(
  { config, logger, metrics }: StepContext,
  redisUrl: string,
): Step<RedisCachePeers> {
  return {
    name: "cache peers",
    start: () => createRedisCachePeers({ url: redisUrl, namespace: config.namespace, logger, metrics }),
    stop: (peers) => peers?.close(),
  };
}

/** OpenTelemetry tracing (when configured): started first and stopped last, so every span is exported. */
export function tracingStep(config: TracingConfig, logger: Logger): Step<Tracing> {
  return {
    name: "tracing",
    start: () => startTracing(config, logger),
    stop: (tracing) => tracing?.stop(),
  };
}
