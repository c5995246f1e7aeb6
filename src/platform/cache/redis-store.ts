/**
 * Redis as the second cache layer, through keyv and @keyv/redis. Redis being down slows reads but
 * never fails them: no offline queue, a reconnect that never gives up, every operation bounded by
 * `opTimeoutMs`, a circuit breaker after `breakerThreshold` failures in a row, and every 'error'
 * event listened to. Operations on one key reach Redis in call order; an invalidation, delete or
 * set that could not be done is remembered (with a per-call sequence) and replayed, the key read
 * as a miss here meanwhile, or the namespace cleared when too many are lost. `invalidate` writes a
 * unique tombstone, `read` installs a fill marker on an empty key, `fill` is a Lua compare-and-set
 * (second-level-store.ts). How it all fits: docs/cache-protocol.md, "(d) Redis cannot take an
 * invalidation". `ping()` is the readiness check.
 */
import { createHash } from "node:crypto";
import KeyvRedis, { createClient, Keyv, type RedisClientType } from "@keyv/redis";
import { backoffDelay } from "../backoff.js";
import type { Logger } from "../logger.js";
import { Counter, perRegistry, type Registry } from "../metrics.js";
import { errorMessage, rateLimitedWarn } from "../rate-limited-log.js";
import { withTimeout } from "../with-timeout.js";
import {
  isToken,
  newFillMarker,
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

const instrumentsFor = perRegistry((registry): Instruments => {
  const counter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ["op"], registers: [registry] });
  return {
    errors: counter("cache_redis_errors_total", "Redis operations that failed or timed out."),
    skipped: counter(
      "cache_redis_skipped_total",
      "Redis operations skipped because the circuit breaker was open.",
    ),
  };
});

export function createRedisStore(options: RedisStoreOptions): RedisStore {
  return new KeyvRedisStore(options);
}

/** Marks an operation that did not reach Redis (breaker open, store closed). */
const SKIPPED = Symbol("skipped");

/** A Lua script, run by EVALSHA (EVAL when Redis answers NOSCRIPT). */
interface Script {
  source: string;
  sha1: string;
}

function script(source: string): Script {
  return { source, sha1: createHash("sha1").update(source).digest("hex") };
}

/**
 * The marker of an empty key: KEYS[1] the key; ARGV: the new fill marker, its expiry in ms.
 * Installs the marker when the key holds nothing; returns what the key holds afterwards.
 */
const MARK_SCRIPT = script(`
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`);

/**
 * The conditional fill: KEYS[1] the key; ARGV: the expected text (never "nothing"), the new
 * value, the expiry in ms ("0": none). Returns 1 when written, 0 otherwise.
 */
const FILL_SCRIPT = script(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '0' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`);

/** What the replay of a lost invalidation writes: a tombstone with this TTL, or a delete. */
type LostInvalidation = { tombstoneTtlMs: number } | "delete";

/** A key's lost invalidation, and the sequence number of the newest call whose loss it holds. */
interface LostRecord {
  what: LostInvalidation;
  seq: number;
}

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
   * Keys whose invalidation (tombstone), delete or set failed: read as misses, never filled, until
   * a later call (the replay, or a set) succeeds.
   */
  readonly #lost = new Map<string, LostRecord>();
  /** Sequence number of the last invalidate/delete/set call (see #lost). */
  #calls = 0;
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
        reconnectStrategy: (retries) => backoffDelay({ initialMs: 50, maxMs: maxDelay }, retries + 1),
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
      skipIf: () => this.#untrusted(key),
    });
    return typeof result === "string" && !isToken(result) ? result : undefined;
  }

  async read(key: string, markerTtlMs: number): Promise<SecondLevelRead> {
    const markerTtl = String(Math.max(1, Math.ceil(markerTtlMs)));
    const result = await this.#op(
      "get",
      key,
      async () => {
        // The common case, a hit (or a token): one plain GET.
        const current = await this.#keyv.get(key);
        if (current !== undefined && current !== null) return current;
        // Empty: never observe "nothing" (a fill compared against it would pass again once a
        // tombstone written meanwhile is gone); install a marker, or see what is there by now.
        return this.#runScript(MARK_SCRIPT, key, [newFillMarker(), markerTtl]);
      },
      {
        // Checked again after earlier operations on the key: an invalidation just lost makes this
        // a miss that observed nothing (Redis still holds what the invalidation was to replace).
        skipIf: () => this.#untrusted(key),
      },
    );
    if (typeof result !== "string") return { value: undefined, observed: undefined };
    return { value: isToken(result) ? undefined : result, observed: result };
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const seq = ++this.#calls;
    const ttl = positive(ttlMs);
    const result = await this.#op("set", key, () => this.#keyv.set(key, value, ttl));
    // Not done: Redis may still hold an older value; replay as a delete (a miss, then a load).
    if (result === SKIPPED) this.#rememberLost(key, "delete", seq);
    // The new value replaces the entry whose invalidation (by an earlier call) was lost.
    else this.#succeeded(key, seq);
  }

  async fill(key: string, value: string, observed: Observed, ttlMs?: number): Promise<boolean> {
    const args = [observed, value, String(Math.ceil(positive(ttlMs) ?? 0))];
    const result = await this.#op("fill", key, () => this.#runScript(FILL_SCRIPT, key, args), {
      skipIf: () => this.#untrusted(key),
    });
    return result === 1;
  }

  async invalidate(key: string, tombstoneTtlMs: number): Promise<void> {
    const seq = ++this.#calls;
    const ttl = Math.max(1, Math.ceil(tombstoneTtlMs));
    const result = await this.#op("invalidate", key, () => this.#keyv.set(key, newTombstone(), ttl));
    if (result === SKIPPED) this.#rememberLost(key, { tombstoneTtlMs: ttl }, seq);
    else this.#succeeded(key, seq);
  }

  async delete(key: string): Promise<void> {
    const seq = ++this.#calls;
    const result = await this.#op("delete", key, () => this.#keyv.delete(key));
    if (result === SKIPPED) this.#rememberLost(key, "delete", seq);
    else this.#succeeded(key, seq);
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new StoreClosedError();
    const reply = await withTimeout(
      this.#client.ping(),
      this.#opTimeoutMs,
      () => new TimeoutError(this.#opTimeoutMs),
    );
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
        const timeoutMs = options.timeoutMs ?? this.#opTimeoutMs;
        const result = await withTimeout(run(), timeoutMs, () => new TimeoutError(timeoutMs));
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

  /** Runs `script` on `key` by EVALSHA; by EVAL when Redis does not have it (yet, or any more). */
  async #runScript(script: Script, key: string, args: string[]): Promise<unknown> {
    const options = { keys: [this.#redisKey(key)], arguments: args };
    try {
      return await this.#client.evalSha(script.sha1, options);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
      return this.#client.eval(script.source, options);
    }
  }

  /**
   * Call `seq` on `key` reached Redis: it covers the losses of calls made before it, not those of
   * calls made after it (skipped at once while it was in flight, or failed behind it).
   */
  #succeeded(key: string, seq: number): void {
    const known = this.#lost.get(key);
    if (known !== undefined && known.seq < seq) this.#lost.delete(key);
  }

  #rememberLost(key: string, what: LostInvalidation, seq: number): void {
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
    } else {
      // Always a new record: a replay in progress sees that the key was lost again meanwhile.
      this.#lost.set(key, { what: merged(known?.what, what), seq: Math.max(known?.seq ?? 0, seq) });
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
        for (const [key, record] of [...this.#lost]) {
          if (this.#closed || this.breakerOpen) return;
          // Set, replayed or lost again since the snapshot: leave it to that newer state.
          if (this.#lost.get(key) !== record) continue;
          const { what } = record;
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

/** What to replay for a key whose invalidation `known` was lost when `what` is lost too. */
function merged(known: LostInvalidation | undefined, what: LostInvalidation): LostInvalidation {
  if (known === undefined) return what;
  // A lost tombstone stays a tombstone when a delete is lost after it; the longer one wins.
  if (what === "delete") return known;
  if (known === "delete" || known.tombstoneTtlMs < what.tombstoneTtlMs) return what;
  return known;
}

function positive(ms: number | undefined): number | undefined {
  return ms !== undefined && ms > 0 ? ms : undefined;
}
