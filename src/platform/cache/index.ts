/**
 * The product cache: an in-memory first level over a shared second level (Redis), kept fresh
 * across replicas, and the schedule that refreshes it. How it stays fresh: docs/cache-protocol.md.
 *
 * The gateway, the modules and the composition root use this subsystem only through this file
 * (a dependency-cruiser rule); files inside the platform import each other directly.
 */
export type { CachePeers } from "./cache-peers.js";
export { InProcessCachePeers } from "./in-process-cache-peers.js";
export { LayeredCache } from "./layered-cache.js";
export { createRedisCachePeers, type RedisCachePeers } from "./redis-cache-peers.js";
export { createRedisStore } from "./redis-store.js";
export { scheduleRefresh } from "./refresh-schedule.js";
export type { SecondLevelStore } from "./second-level-store.js";
