/**
 * Redis as the second cache layer, through keyv and @keyv/redis.
 *
 * Redis being down slows reads but never fails them:
 * - The client is created here with an offline queue that is off (a command while disconnected
 *   fails at once instead of waiting) and a reconnect strategy that never gives up (capped
 *   backoff), and it connects in the background: construction never waits for Redis.
 * - Every operation is bounded by `opTimeoutMs`; an error or a timeout is logged (rate-limited)
 *   and answered as a miss / no-op.
 * - After `breakerThreshold` failures in a row a circuit breaker skips Redis for `breakerMs`,
 *   then lets operations try again (one more failure opens it again).
 * - Operations on one key are issued in call order (a delete is never overtaken by an earlier
 *   set of the same key), and a delete that could not be done is remembered: that key reads as a
 *   miss here and the delete is retried once Redis answers again, so a lost invalidation cannot
 *   resurface an old value after an outage. If too many deletes are lost, the whole namespace is
 *   cleared instead once Redis is back.
 * - Every 'error' event (keyv, adapter, client) has a listener: nothing can crash the process.
 *
 * `ping()` is the readiness check and rejects when Redis is unreachable.
 */
import KeyvRedis, { createClient, Keyv, type RedisClientType } from "@keyv/redis";
import type { Logger } from "../logger.js";
import { Counter, type Registry } from "../metrics.js";
import { errorMessage, rateLimitedWarn } from "./rate-limited-log.js";
import type { SecondLevelStore } from "./second-level-store.js";

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
  /** Lost deletes remembered for replay; beyond it the namespace is cleared on recovery (10 000). */
  maxPendingDeletes?: number;
  metrics?: Registry;
}

export interface RedisStore extends SecondLevelStore {
  /** The key prefix in Redis (`${namespace}:cache`). */
  readonly prefix: string;
  /** True while the breaker skips Redis. */
  readonly breakerOpen: boolean;
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis operation timed out after ${ms} ms`);
    this.name = "TimeoutError";
  }
}

class StoreClosedError extends Error {
  constructor() {
    super("Redis store is closed");
    this.name = "StoreClosedError";
  }
}

interface Instruments {
  errors: Counter<"op">;
  skipped: Counter<"op">;
}

const instrumentsByRegistry = new WeakMap<Registry, Instruments>();

function instrumentsFor(registry: Registry): Instruments {
  let instruments = instrumentsByRegistry.get(registry);
  if (instruments === undefined) {
    instruments = {
      errors: counter(registry, "cache_redis_errors_total", "Redis operations that failed or timed out."),
      skipped: counter(
        registry,
        "cache_redis_skipped_total",
        "Redis operations skipped because the circuit breaker was open.",
      ),
    };
    instrumentsByRegistry.set(registry, instruments);
  }
  return instruments;
}

function counter(registry: Registry, name: string, help: string): Counter<"op"> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<"op">;
  return new Counter({ name, help, labelNames: ["op"], registers: [registry] });
}

export function createRedisStore(options: RedisStoreOptions): RedisStore {
  return new KeyvRedisStore(options);
}

/** Marks an operation that did not reach Redis (breaker open, store closed). */
const SKIPPED = Symbol("skipped");

class KeyvRedisStore implements RedisStore {
  readonly prefix: string;
  readonly #logger: Logger;
  readonly #opTimeoutMs: number;
  readonly #breakerThreshold: number;
  readonly #breakerMs: number;
  readonly #maxPendingDeletes: number;
  readonly #client: RedisClientType;
  readonly #keyv: Keyv<string>;
  readonly #warnOp: (fields: Record<string, unknown>, message: string) => void;
  readonly #warnConnection: (fields: Record<string, unknown>, message: string) => void;
  readonly #instruments: Instruments | undefined;

  #closed = false;
  #consecutiveFailures = 0;
  #openUntil = 0;
  /** Per key, the last operation issued (so operations on one key stay in call order). */
  readonly #tails = new Map<string, Promise<unknown>>();
  /** Keys whose delete failed: read as misses until a delete succeeds or a set overwrites. */
  readonly #pendingDeletes = new Set<string>();
  /** Too many lost deletes to remember: clear the namespace once Redis answers again. */
  #mustClear = false;
  #recovering: Promise<void> | undefined;
  #recoverTimer: NodeJS.Timeout | undefined;

  constructor(options: RedisStoreOptions) {
    this.prefix = `${options.namespace}:cache`;
    this.#logger = options.logger;
    this.#opTimeoutMs = options.opTimeoutMs ?? 200;
    this.#breakerThreshold = options.breakerThreshold ?? 2;
    this.#breakerMs = options.breakerMs ?? 1500;
    this.#maxPendingDeletes = options.maxPendingDeletes ?? 10_000;
    this.#instruments = options.metrics === undefined ? undefined : instrumentsFor(options.metrics);
    this.#warnOp = rateLimitedWarn(options.logger, 10_000);
    this.#warnConnection = rateLimitedWarn(options.logger, 30_000);
    const maxDelay = options.maxReconnectDelayMs ?? 1000;

    this.#client = createClient({
      url: options.url,
      // A command while disconnected fails at once (the breaker and the miss path take over).
      disableOfflineQueue: true,
      socket: {
        connectTimeout: Math.max(1000, this.#opTimeoutMs * 5),
        // Never give up: a number means "retry after that many ms".
        reconnectStrategy: (retries) => Math.min(50 * 2 ** Math.min(retries, 10), maxDelay),
      },
    }) as RedisClientType;
    this.#client.on("error", (error: unknown) => {
      this.#warnConnection({ err: errorMessage(error) }, "redis cache connection error");
    });
    this.#client.on("ready", () => {
      this.#logger.info({ prefix: this.prefix }, "redis cache connected");
      this.#consecutiveFailures = 0;
      this.#openUntil = 0;
      void this.#recover();
    });

    const adapter = new KeyvRedis<string>(this.#client, {
      namespace: this.prefix,
      keyPrefixSeparator: ":",
      // We connect ourselves (below); the adapter must not connect/throw on its own.
      throwOnConnectError: false,
      // Operations reject on failure so that we see failures (breaker, pending deletes).
      throwOnErrors: true,
    });
    this.#keyv = new Keyv<string>({
      store: adapter,
      namespace: this.prefix,
      useKeyPrefix: false,
      throwOnErrors: true,
      // Store the text as-is: expiry is Redis's job (PX), not keyv's envelope.
      serialize: ((data: { value?: unknown }) => data.value as string) as never,
      deserialize: ((text: string) => ({ value: text })) as never,
    });
    // Failures are already seen (and logged) through rejected operations and the client's
    // 'error' listener; this listener only keeps a keyv 'error' event from going unheard.
    this.#keyv.on("error", (error: unknown) => {
      this.#logger.debug({ err: errorMessage(error) }, "redis cache keyv error");
    });

    // Connect in the background. With a reconnect strategy that never gives up, connect()
    // only settles once connected (or when closed); it must never be awaited by a caller.
    this.#client.connect().catch((error: unknown) => {
      if (!this.#closed) this.#warnConnection({ err: errorMessage(error) }, "redis cache connect failed");
    });
  }

  get breakerOpen(): boolean {
    return Date.now() < this.#openUntil;
  }

  async get(key: string): Promise<string | undefined> {
    const result = await this.#op("get", key, () => this.#keyv.get(key), {
      // Checked again after earlier operations on the key: a delete just lost makes this a miss.
      skipIf: () => this.#pendingDeletes.has(key) || this.#mustClear,
    });
    if (result === SKIPPED || result === undefined || result === null) return undefined;
    return result;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const ttl = ttlMs !== undefined && ttlMs > 0 ? ttlMs : undefined;
    const result = await this.#op("set", key, () => this.#keyv.set(key, value, ttl));
    // The new value replaces the entry whose delete was lost.
    if (result !== SKIPPED) this.#pendingDeletes.delete(key);
  }

  async delete(key: string): Promise<void> {
    const result = await this.#op("delete", key, () => this.#keyv.delete(key));
    if (result === SKIPPED) {
      this.#rememberLostDelete(key);
    } else {
      this.#pendingDeletes.delete(key);
    }
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new StoreClosedError();
    const reply = await withTimeout(this.#client.ping(), this.#opTimeoutMs);
    if (reply !== "PONG") throw new Error(`unexpected PING reply ${String(reply)}`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pendingDeletes.clear();
    if (this.#recoverTimer !== undefined) clearTimeout(this.#recoverTimer);
    // Operations are bounded by the timeout: let the ones in flight finish, then drop the
    // connection (anything still waiting is a command a hung server will never answer).
    await Promise.allSettled([...this.#tails.values()]);
    if (this.#client.isOpen) this.#client.destroy();
  }

  /**
   * Runs one operation: skipped when closed or while the breaker is open, bounded by the
   * timeout, chained after the previous operation on the same key. Never rejects: a failure
   * resolves to SKIPPED.
   */
  #op<R>(
    name: string,
    key: string,
    run: () => Promise<R>,
    options: { skipIf?: () => boolean; timeoutMs?: number } = {},
  ): Promise<R | typeof SKIPPED> {
    if (this.#closed || options.skipIf?.()) return Promise.resolve(SKIPPED);
    if (this.breakerOpen) {
      this.#instruments?.skipped.inc({ op: name });
      return Promise.resolve(SKIPPED);
    }
    const previous = this.#tails.get(key);
    const attempt = async (): Promise<R | typeof SKIPPED> => {
      if (previous !== undefined) {
        await previous;
        // The breaker may have opened (or the store closed) while waiting for the previous one.
        if (this.#closed || options.skipIf?.()) return SKIPPED;
        if (this.breakerOpen) {
          this.#instruments?.skipped.inc({ op: name });
          return SKIPPED;
        }
      }
      try {
        const result = await withTimeout(run(), options.timeoutMs ?? this.#opTimeoutMs);
        this.#consecutiveFailures = 0;
        return result;
      } catch (error) {
        this.#failed(name, key, error);
        return SKIPPED;
      }
    };
    const promise = attempt();
    this.#tails.set(key, promise);
    void promise.then(() => {
      if (this.#tails.get(key) === promise) this.#tails.delete(key);
    });
    return promise;
  }

  #failed(op: string, key: string, error: unknown): void {
    this.#instruments?.errors.inc({ op });
    this.#consecutiveFailures++;
    const opening = this.#consecutiveFailures >= this.#breakerThreshold && !this.breakerOpen;
    if (opening) this.#openUntil = Date.now() + this.#breakerMs;
    this.#warnOp(
      { op, key, err: errorMessage(error), breakerOpen: this.breakerOpen },
      "redis cache operation failed; treated as a miss",
    );
  }

  #rememberLostDelete(key: string): void {
    if (this.#closed) return;
    if (this.#pendingDeletes.size >= this.#maxPendingDeletes) {
      if (!this.#mustClear) {
        this.#logger.warn(
          { prefix: this.prefix, pending: this.#pendingDeletes.size },
          "too many lost redis cache deletes; the namespace will be cleared when redis is back",
        );
      }
      this.#mustClear = true;
      this.#pendingDeletes.clear();
    } else {
      this.#pendingDeletes.add(key);
    }
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
    }, this.#breakerMs + 10);
    this.#recoverTimer.unref();
  }

  /** Replays lost deletes (or clears the namespace) once Redis answers again. */
  #recover(): Promise<void> {
    if (this.#recovering !== undefined) return this.#recovering;
    if (this.#pendingDeletes.size === 0 && !this.#mustClear) return Promise.resolve();
    this.#recovering = (async () => {
      try {
        if (this.#mustClear) {
          const cleared = await this.#op("clear", "\0clear", () => this.#clearNamespace(), {
            timeoutMs: 60_000,
          });
          if (cleared === SKIPPED) return;
          this.#mustClear = false;
          this.#logger.info({ prefix: this.prefix }, "redis cache namespace cleared after lost deletes");
        }
        for (const key of [...this.#pendingDeletes]) {
          if (this.#closed || this.breakerOpen) return;
          await this.delete(key);
        }
      } finally {
        this.#recovering = undefined;
        if (this.#pendingDeletes.size > 0 || this.#mustClear) this.#scheduleRecover();
      }
    })();
    return this.#recovering;
  }

  /** Deletes every key under the prefix (SCAN + UNLINK; keyv's clear() hides its failures). */
  async #clearNamespace(): Promise<void> {
    for await (const keys of this.#client.scanIterator({ MATCH: `${this.prefix}:*`, COUNT: 1000 })) {
      if (keys.length > 0) await this.#client.unlink(keys);
    }
  }
}

/** `promise`, or a TimeoutError after `ms`; the late settlement of `promise` is swallowed. */
function withTimeout<R>(promise: Promise<R>, ms: number): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
