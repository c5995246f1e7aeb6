/**
 * What the composition root hands a module, and what a module gives back. A module registers its
 * Connect services and runs its background jobs; it never sees another module.
 */
import type { ConnectRouter } from "@connectrpc/connect";
import type { Authenticator } from "./auth/authenticator.js";
import type { ServiceCredential } from "./auth/service-credential.js";
import type { CachePeers } from "./cache/cache-peers.js";
import type { SecondLevelStore } from "./cache/second-level-store.js";
import type { Config } from "./config.js";
import type { Database } from "./db/database.js";
import type { EventBus } from "./events/event-bus.js";
import type { Logger } from "./logger.js";
import type { Registry } from "./metrics.js";

export interface Platform {
  config: Config;
  database: Database;
  bus: EventBus;
  /** Redis as the second cache layer, when configured. */
  cacheStore: SecondLevelStore | undefined;
  /**
   * The copies of the same keys, told of every write: in every process over Redis, or inventory's
   * and the gateway's edge copy in this one without it.
   */
  cachePeers: CachePeers | undefined;
  auth: Authenticator;
  /** What modules present when they call each other's internal services (role `service`). */
  serviceCredential: ServiceCredential;
  logger: Logger;
  metrics: Registry;
  /**
   * Aborted the moment the process starts stopping, before the port drains: what would hold the
   * drain open (a server stream) ends then; background work goes on until `MountedModule.stop`.
   */
  stopping: AbortSignal;
}

export interface MountedModule {
  readonly name: string;
  /** Registers the module's Connect services. */
  routes(router: ConnectRouter): void;
  /** Starts background work (relays, consumers, schedules). */
  start(): Promise<void>;
  /** Stops background work after the current unit of it. */
  stop(): Promise<void>;
}
