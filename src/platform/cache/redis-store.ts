/**
 * Redis as the second cache layer (SecondLevelStore). Redis being down slows reads but never fails
 * them: every operation runs through RedisOperations (bounded, in per-key order, skipped while the
 * circuit breaker is open), and an invalidation, delete or set that did not reach Redis is
 * remembered (LostInvalidations) and replayed once Redis answers, the key read as a miss here
 * meanwhile, or the namespace cleared when too many are lost. `ping()` is the readiness check.
 * How it all fits: docs/cache-protocol.md, "(d) Redis cannot take an invalidation".
 */
import KeyvRedis, { type RedisClientType } from "@keyv/redis";
import type { Logger } from "../logger.js";
import type { Registry } from "../metrics.js";
import { errorMessage, rateLimitedWarn } from "../rate-limited-log.js";
import { isToken, newFillMarker, newTombstone } from "./cache-tokens.js";
import { CircuitBreaker } from "./circuit-breaker.js";
import { type LostInvalidation, LostInvalidations } from "./lost-invalidations.js";
import { createCacheRedisClient } from "./redis-client.js";
import { RedisOperations, SKIPPED } from "./redis-operations.js";
import { FILL_SCRIPT, MARK_SCRIPT, runScript, type Script } from "./redis-scripts.js";
import type { Observed, SecondLevelRead, SecondLevelStore } from "./second-level-store.js";

export interface RedisStoreOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Deployment namespace; every key is `${namespace}:cache:${key}`. */
  namespace: string;
  logger: Logger;
  /** Upper bound of one operation (default 200 ms). */
  opTimeoutMs?: number;
  /** Consecutive failures that open the circuit breaker (default 2). */
  breakerThreshold?: number;
  /** How long an open breaker skips Redis (default 1500 ms). */
  breakerMs?: number;
  /** Upper bound of the reconnect backoff (default 1000 ms). */
  maxReconnectDelayMs?: number;
  /**
   * Lost invalidations (tombstones, deletes, sets) remembered for replay; beyond it the
   * namespace is cleared on recovery (10 000).
   */
  maxPendingDeletes?: number;
  metrics?: Registry;
}

export interface RedisStore extends SecondLevelStore {
  /** The key prefix in Redis (`${namespace}:cache`). */
  readonly prefix: string;
  /** True while the breaker skips Redis. */
  readonly breakerOpen: boolean;
}

class StoreClosedError extends Error {
  constructor() {
    super("Redis store is closed");
    this.name = "StoreClosedError";
  }
}

export function createRedisStore(options: RedisStoreOptions): RedisStore {
  return new KeyvRedisStore(options);
}

class KeyvRedisStore implements RedisStore {
  readonly prefix: string;
  readonly #logger: Logger;
  readonly #warnConnection: (fields: Record<string, unknown>, message: string) => void;
  readonly #client: RedisClientType;
  /**
   * GET, SET (PX) and UNLINK of raw text under the prefix. keyv's `Keyv` class is not used: it
   * stores a JSON envelope with its own expiry, and with serialization turned off it hands Redis
   * the envelope object, which Redis rejects. The Lua scripts, SCAN and PING go to the client
   * itself: no keyv interface offers a compare-and-set.
   */
  readonly #adapter: KeyvRedis<string>;
  readonly #breaker: CircuitBreaker;
  readonly #operations: RedisOperations;
  readonly #lost: LostInvalidations;

  #closed = false;
  #recovering: Promise<void> | undefined;
  #recoverTimer: NodeJS.Timeout | undefined;

  constructor(options: RedisStoreOptions) {
    this.prefix = `${options.namespace}:cache`;
    this.#logger = options.logger;
    const opTimeoutMs = options.opTimeoutMs ?? 200;
    this.#breaker = new CircuitBreaker(options.breakerThreshold ?? 2, options.breakerMs ?? 1500);
    this.#operations = new RedisOperations({
      opTimeoutMs,
      breaker: this.#breaker,
      isClosed: () => this.#closed,
      logger: options.logger,
      metrics: options.metrics,
    });
    this.#lost = new LostInvalidations(options.maxPendingDeletes ?? 10_000, (pending) => {
      this.#logger.warn(
        { prefix: this.prefix, pending },
        "too many lost redis cache invalidations; the namespace will be cleared when redis is back",
      );
    });
    this.#warnConnection = rateLimitedWarn(options.logger, 30_000);

    this.#client = createCacheRedisClient({
      url: options.url,
      opTimeoutMs,
      maxReconnectDelayMs: options.maxReconnectDelayMs ?? 1000,
    });
    this.#client.on("error", (error: unknown) => {
      this.#warnConnection({ err: errorMessage(error) }, "redis cache connection error");
    });
    this.#client.on("ready", () => {
      this.#logger.info({ prefix: this.prefix }, "redis cache connected");
      this.#breaker.reset();
      void this.#recover();
    });

    this.#adapter = new KeyvRedis<string>(this.#client, {
      namespace: this.prefix,
      keyPrefixSeparator: ":",
      // We connect ourselves (below); the adapter must not connect/throw on its own.
      throwOnConnectError: false,
      // Operations reject on failure so that we see failures (breaker, lost invalidations).
      throwOnErrors: true,
    });
    // Failures are already seen (and logged) through rejected operations and the client's
    // 'error' listener; this listener only keeps an adapter 'error' event from going unheard.
    this.#adapter.on("error", (error: unknown) => {
      this.#logger.debug({ err: errorMessage(error) }, "redis cache keyv error");
    });

    // Connect in the background. With a reconnect strategy that never gives up, connect()
    // only settles once connected (or when closed); it must never be awaited by a caller.
    this.#client.connect().catch((error: unknown) => {
      if (!this.#closed) this.#warnConnection({ err: errorMessage(error) }, "redis cache connect failed");
    });
  }

  get breakerOpen(): boolean {
    return this.#breaker.open;
  }

  async get(key: string): Promise<string | undefined> {
    const result = await this.#operations.run("get", key, () => this.#adapter.get(key), {
      skipIf: () => this.#lost.untrusted(key),
    });
    return typeof result === "string" && !isToken(result) ? result : undefined;
  }

  async read(key: string, markerTtlMs: number): Promise<SecondLevelRead> {
    const markerTtl = String(Math.max(1, Math.ceil(markerTtlMs)));
    const result = await this.#operations.run(
      "get",
      key,
      async () => {
        // The common case, a hit (or a token): one plain GET.
        const current = await this.#adapter.get(key);
        if (current !== undefined && current !== null) return current;
        // Empty: never observe "nothing" (a fill compared against it would pass again once a
        // tombstone written meanwhile is gone); install a marker, or see what is there by now.
        return this.#runScript(MARK_SCRIPT, key, [newFillMarker(), markerTtl]);
      },
      {
        // Checked again after earlier operations on the key: an invalidation just lost makes this
        // a miss that observed nothing (Redis still holds what the invalidation was to replace).
        skipIf: () => this.#lost.untrusted(key),
      },
    );
    if (typeof result !== "string") return { value: undefined, observed: undefined };
    return { value: isToken(result) ? undefined : result, observed: result };
  }

  /**
   * Not done, it is replayed as a delete (Redis may still hold an older value: a miss, then a
   * load); done, the new value replaces an entry whose invalidation by an earlier call was lost.
   */
  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.#invalidating("set", key, "delete", () => this.#adapter.set(key, value, positive(ttlMs)));
  }

  async fill(key: string, value: string, observed: Observed, ttlMs?: number): Promise<boolean> {
    const args = [observed, value, String(Math.ceil(positive(ttlMs) ?? 0))];
    const result = await this.#operations.run("fill", key, () => this.#runScript(FILL_SCRIPT, key, args), {
      skipIf: () => this.#lost.untrusted(key),
    });
    return result === 1;
  }

  invalidate(key: string, tombstoneTtlMs: number): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(tombstoneTtlMs));
    return this.#invalidating("invalidate", key, { tombstoneTtlMs: ttl }, () =>
      this.#adapter.set(key, newTombstone(), ttl),
    );
  }

  async delete(key: string): Promise<void> {
    await this.#invalidating("delete", key, "delete", () => this.#adapter.delete(key));
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new StoreClosedError();
    const reply = await this.#operations.bounded(this.#client.ping());
    if (reply !== "PONG") throw new Error(`unexpected PING reply ${String(reply)}`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#lost.clear();
    if (this.#recoverTimer !== undefined) clearTimeout(this.#recoverTimer);
    // Operations are bounded by the timeout: let the ones in flight finish, then drop the
    // connection (anything still waiting is a command a hung server will never answer).
    await this.#operations.settled();
    if (this.#client.isOpen) this.#client.destroy();
  }

  /**
   * Runs an invalidate, delete or set of `key` as a numbered call: when it does not reach Redis,
   * `lostAs` is remembered for replay; when it does, it covers the losses of earlier calls.
   * Resolves whether it reached Redis.
   */
  async #invalidating(
    op: string,
    key: string,
    lostAs: LostInvalidation,
    run: () => Promise<unknown>,
  ): Promise<boolean> {
    const seq = this.#lost.nextCall();
    const result = await this.#operations.run(op, key, run);
    if (result === SKIPPED) {
      this.#rememberLost(key, lostAs, seq);
      return false;
    }
    this.#lost.succeeded(key, seq);
    return true;
  }

  /** Runs `script` on `key` (as Redis names it: what the adapter builds, `${prefix}:${key}`). */
  #runScript(script: Script, key: string, args: string[]): Promise<unknown> {
    return runScript(this.#client, script, `${this.prefix}:${key}`, args);
  }

  #rememberLost(key: string, what: LostInvalidation, seq: number): void {
    if (this.#closed) return;
    this.#lost.remember(key, what, seq);
    this.#scheduleRecover();
  }

  /**
   * If Redis is connected (the failure was a timeout, or the breaker is open) retries the replay
   * once the breaker lets operations through; otherwise the client's 'ready' event starts it.
   */
  #scheduleRecover(): void {
    if (this.#closed || this.#recoverTimer !== undefined || !this.#client.isReady) return;
    this.#recoverTimer = setTimeout(() => {
      this.#recoverTimer = undefined;
      void this.#recover();
    }, this.#breaker.openMs + 10);
    this.#recoverTimer.unref();
  }

  /** Replays lost invalidations (or clears the namespace) once Redis answers again. */
  #recover(): Promise<void> {
    if (this.#recovering !== undefined) return this.#recovering;
    if (!this.#lost.pending) return Promise.resolve();
    this.#recovering = (async () => {
      try {
        if (this.#lost.mustClear) {
          const cleared = await this.#operations.run("clear", "\0clear", () => this.#clearNamespace(), {
            timeoutMs: 60_000,
          });
          if (cleared === SKIPPED) return;
          this.#lost.cleared();
          this.#logger.info({ prefix: this.prefix }, "redis cache namespace cleared after lost deletes");
        }
        for (const [key, record] of this.#lost.snapshot()) {
          if (this.#closed || this.breakerOpen) return;
          // Set, replayed or lost again since the snapshot: leave it to that newer state.
          if (!this.#lost.holds(key, record)) continue;
          const { what } = record;
          if (what === "delete") await this.delete(key);
          else await this.invalidate(key, what.tombstoneTtlMs);
        }
      } finally {
        this.#recovering = undefined;
        if (this.#lost.pending) this.#scheduleRecover();
      }
    })();
    return this.#recovering;
  }

  /** Deletes every key under the prefix (SCAN + UNLINK; the adapter's clear() hides its failures). */
  async #clearNamespace(): Promise<void> {
    for await (const keys of this.#client.scanIterator({ MATCH: `${this.prefix}:*`, COUNT: 1000 })) {
      if (keys.length > 0) await this.#client.unlink(keys);
    }
  }
}

function positive(ms: number | undefined): number | undefined {
  return ms !== undefined && ms > 0 ? ms : undefined;
}
