/**
 * The node-redis client RedisStore talks through, configured so that Redis being down slows
 * reads but never fails them: a command while disconnected fails at once (no offline queue), and
 * the client reconnects forever with a bounded backoff. docs/cache-protocol.md, "(d)".
 */
import { createClient, type RedisClientType } from "@keyv/redis";
import { backoffDelay } from "../backoff.js";

export interface CacheRedisClientOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Upper bound of one operation: the connect timeout is a few of them (at least 1 s). */
  opTimeoutMs: number;
  /** Upper bound of the reconnect backoff. */
  maxReconnectDelayMs: number;
}

/** A client not yet connected: the caller listens to its events, then connects. */
export function createCacheRedisClient(options: CacheRedisClientOptions): RedisClientType {
  return createClient({
    url: options.url,
    // A command while disconnected fails at once (the breaker and the miss path take over).
    disableOfflineQueue: true,
    socket: {
      connectTimeout: Math.max(1000, options.opTimeoutMs * 5),
      // Never give up: a number means "retry after that many ms".
      reconnectStrategy: (retries) =>
        backoffDelay({ initialMs: 50, maxMs: options.maxReconnectDelayMs }, retries + 1),
    },
  });
}
