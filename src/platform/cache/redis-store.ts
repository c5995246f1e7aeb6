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
 * - Operations on one key are issued in call order (an invalidation or delete is never overtaken
 *   by an earlier set or fill of the same key), and an invalidation (tombstone) or delete that
 *   could not be done is remembered: that key reads as a miss here, fills of it are not
 *   attempted, and the tombstone (delete) is written again once Redis answers, so a lost
 *   invalidation cannot resurface an old value after an outage. If too many are lost, the whole
 *   namespace is cleared instead once Redis is back (tombstones included: a fill whose read saw
 *   the key absent before the outage could then still land, which needs a load spanning the
 *   outage and is bounded by the fill window of LayeredCache).
 * - Cross-process write-back (see second-level-store.ts): `invalidate` writes a unique tombstone
 *   (SET … PX), reads answer it as a miss, and `fill` is a compare-and-set done by one Lua script
 *   (GET, compare with what the reader observed, SET … PX only when unchanged; "absent" is SET
 *   NX), so it is atomic against every other client's writes. Reads that are skipped (breaker,
 *   lost invalidation, closed) observe nothing, so no fill follows them.
 * - Every 'error' event (keyv, adapter, client) has a listener: nothing can crash the process.
 *
 * `ping()` is the readiness check and rejects when Redis is unreachable.
 */
import KeyvRedis, { createClient, Keyv, type RedisClientType } from "@keyv/redis";
import type { Logger } from "../logger.js";
import { Counter, type Registry } from "../metrics.js";
import { errorMessage, rateLimitedWarn } from "./rate-limited-log.js";
import {
  ABSENT,
  isTombstone,
  newTombstone,
  type Observed,
  type SecondLevelRead,
  type SecondLevelStore,
} from "./second-level-store.js";

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
   * Lost invalidations (tombstones, deletes) remembered for replay; beyond it the namespace is
   * cleared on recovery (10 000).
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

/**
 * The conditional fill: KEYS[1] the key; ARGV: "0" (expect absent) or "1" (expect ARGV[2]), the
 * expected text, the new value, the expiry in ms ("0": none). Returns 1 when written, 0 otherwise.
 */
const FILL_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
if ARGV[4] == '0' then
  redis.call('SET', KEYS[1], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return 1
`;

/** What the replay of a lost invalidation writes: a tombstone with this TTL, or a delete. */
type LostInvalidation = { tombstoneTtlMs: number } | "delete";

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
  /**
   * Keys whose invalidation (tombstone) or delete failed: read as misses, never filled, until the
   * replay succeeds or a set overwrites.
   */
  readonly #lost = new Map<string, LostInvalidation>();
  /** Too many lost invalidations to remember: clear the namespace once Redis answers again. */
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
    return (await this.read(key)).value;
  }

  async read(key: string): Promise<SecondLevelRead> {
    const result = await this.#op("get", key, () => this.#keyv.get(key), {
      // Checked again after earlier operations on the key: an invalidation just lost makes this
      // a miss that observed nothing (Redis still holds what the invalidation was to replace).
      skipIf: () => this.#untrusted(key),
    });
    if (result === SKIPPED) return { value: undefined, observed: undefined };
    if (result === undefined || result === null) return { value: undefined, observed: ABSENT };
    return { value: isTombstone(result) ? undefined : result, observed: result };
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const ttl = positive(ttlMs);
    const result = await this.#op("set", key, () => this.#keyv.set(key, value, ttl));
    // The new value replaces the entry whose invalidation was lost.
    if (result !== SKIPPED) this.#lost.delete(key);
  }

  async fill(key: string, value: string, observed: Observed, ttlMs?: number): Promise<boolean> {
    const args = [
      observed === ABSENT ? "0" : "1",
      observed ?? "",
      value,
      String(Math.ceil(positive(ttlMs) ?? 0)),
    ];
    const result = await this.#op(
      "fill",
      key,
      () => this.#client.eval(FILL_SCRIPT, { keys: [this.#redisKey(key)], arguments: args }),
      { skipIf: () => this.#untrusted(key) },
    );
    return result === 1;
  }

  async invalidate(key: string, tombstoneTtlMs: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(tombstoneTtlMs));
    const result = await this.#op("invalidate", key, () => this.#keyv.set(key, newTombstone(), ttl));
    if (result === SKIPPED) {
      this.#rememberLost(key, { tombstoneTtlMs: ttl });
    } else {
      this.#lost.delete(key);
    }
  }

  async delete(key: string): Promise<void> {
    const result = await this.#op("delete", key, () => this.#keyv.delete(key));
    if (result === SKIPPED) {
      this.#rememberLost(key, "delete");
    } else {
      this.#lost.delete(key);
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
    this.#lost.clear();
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

  /** The key's entry in Redis may be one an invalidation was to replace: do not read or fill it. */
  #untrusted(key: string): boolean {
    return this.#mustClear || this.#lost.has(key);
  }

  /** The key as Redis names it (what keyv's adapter builds: `${prefix}:${key}`). */
  #redisKey(key: string): string {
    return `${this.prefix}:${key}`;
  }

  #rememberLost(key: string, what: LostInvalidation): void {
    if (this.#closed) return;
    const known = this.#lost.get(key);
    if (known === undefined && this.#lost.size >= this.#maxPendingDeletes) {
      if (!this.#mustClear) {
        this.#logger.warn(
          { prefix: this.prefix, pending: this.#lost.size },
          "too many lost redis cache invalidations; the namespace will be cleared when redis is back",
        );
      }
      this.#mustClear = true;
      this.#lost.clear();
    } else if (what === "delete") {
      // A lost tombstone stays a tombstone when a delete is lost after it.
      if (known === undefined) this.#lost.set(key, what);
    } else if (known === undefined || known === "delete" || known.tombstoneTtlMs < what.tombstoneTtlMs) {
      this.#lost.set(key, what);
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

  /** Replays lost invalidations (or clears the namespace) once Redis answers again. */
  #recover(): Promise<void> {
    if (this.#recovering !== undefined) return this.#recovering;
    if (this.#lost.size === 0 && !this.#mustClear) return Promise.resolve();
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
        for (const [key, what] of [...this.#lost]) {
          if (this.#closed || this.breakerOpen) return;
          // Set, replayed or lost again since the snapshot: leave it to that newer state.
          if (this.#lost.get(key) !== what) continue;
          if (what === "delete") await this.delete(key);
          else await this.invalidate(key, what.tombstoneTtlMs);
        }
      } finally {
        this.#recovering = undefined;
        if (this.#lost.size > 0 || this.#mustClear) this.#scheduleRecover();
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

function positive(ms: number | undefined): number | undefined {
  return ms !== undefined && ms > 0 ? ms : undefined;
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
