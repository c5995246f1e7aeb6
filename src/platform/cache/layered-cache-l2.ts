/**
 * One LayeredCache's view of its second level: keys under the cache's name (`${name}:${key}`),
 * values through the cache's codec, and every failure of the store or the codec logged, counted
 * and answered as a miss or a no-op, never thrown (L2 trouble must not fail a read). Tokens and
 * compare-and-set fills: docs/cache-protocol.md.
 */
import type { Logger } from "../logger.js";
import { errorMessage, rateLimitedWarn } from "../rate-limited-log.js";
import type { CacheMetrics } from "./layered-cache-metrics.js";
import { LruMap } from "./lru-map.js";
import type { Observed, SecondLevelRead, SecondLevelStore } from "./second-level-store.js";

/** How values are written to / read from L2. */
export interface CacheCodec<T> {
  encode(value: T): string;
  decode(text: string): T;
}

export interface LayeredCacheL2Options<T> {
  /** The cache's name: its keys' prefix, and its label in logs. */
  name: string;
  store: SecondLevelStore;
  codec: CacheCodec<T>;
  /** Expiry of the values written; undefined means none. */
  ttlMs: number | undefined;
  /** Lifetime of tombstones and fill markers, and so how late a fill may still be sent. */
  tombstoneTtlMs: number;
  metrics: CacheMetrics;
  logger: Logger | undefined;
  /**
   * How many keys keep their last decoded value, handed out again while L2 holds the same text
   * (0: none). For caches that read L2 on every get (readThroughL2): the same bytes are the same
   * value, so a read that finds them unchanged costs no decoding, and the caller gets the same
   * object as before (the gateway serializes a product once per object).
   */
  decodedEntries: number;
}

export class LayeredCacheL2<T> {
  readonly #name: string;
  readonly #store: SecondLevelStore;
  readonly #codec: CacheCodec<T>;
  readonly #ttlMs: number | undefined;
  readonly #tombstoneTtlMs: number;
  readonly #metrics: CacheMetrics;
  readonly #logger: Logger | undefined;
  readonly #warn: (fields: Record<string, unknown>, message: string) => void;
  readonly #decoded: LruMap<{ readonly text: string; readonly value: T }> | undefined;

  constructor(options: LayeredCacheL2Options<T>) {
    this.#name = options.name;
    this.#store = options.store;
    this.#codec = options.codec;
    this.#ttlMs = options.ttlMs;
    this.#tombstoneTtlMs = options.tombstoneTtlMs;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#warn = rateLimitedWarn(options.logger, 10_000);
    this.#decoded = options.decodedEntries > 0 ? new LruMap(options.decodedEntries) : undefined;
  }

  /** The key's text and what it held (see SecondLevelStore.read); undefined when the store failed. */
  async read(key: string): Promise<SecondLevelRead | undefined> {
    try {
      return await this.#store.read(this.#key(key), this.#tombstoneTtlMs);
    } catch (error) {
      this.#failed("get", key, error);
      return undefined;
    }
  }

  /** Like `read`, with the value decoded; a failed read or an undecodable value is a miss. */
  async readValue(key: string): Promise<{ value: T | undefined; observed: Observed | undefined }> {
    const read = await this.read(key);
    if (read === undefined) return { value: undefined, observed: undefined };
    const { value: text, observed } = read;
    if (text === undefined) return { value: undefined, observed };
    try {
      return { value: this.#decode(key, text), observed };
    } catch (error) {
      // An unreadable entry (e.g. written by an older version) is a miss; the load's fill
      // replaces it (it is what the read observed).
      this.#failed("decode", key, error);
      return { value: undefined, observed };
    }
  }

  /** `text` decoded, or the value it was decoded to last time (see `decodedEntries`). */
  #decode(key: string, text: string): T {
    const last = this.#decoded?.get(key);
    if (last !== undefined && last.text === text) return last.value;
    const value = this.#codec.decode(text);
    this.#decoded?.put(key, { text, value });
    return value;
  }

  /**
   * Writes `value` back if the key still holds `observed` (what the read issued at `readAt`
   * saw). Not sent once that token may have expired: it would be refused.
   */
  async fill(key: string, value: T, observed: Observed, readAt: number): Promise<void> {
    if (performance.now() - readAt >= this.#tombstoneTtlMs) {
      this.#logger?.debug({ cache: this.#name, key }, "cache L2 fill dropped: its token may have expired");
      return;
    }
    const text = this.encode(key, value);
    if (text === undefined) return;
    try {
      await this.#store.fill(this.#key(key), text, observed, this.#ttlMs);
    } catch (error) {
      this.#failed("fill", key, error);
    }
  }

  /** `value` as L2 text; undefined (logged and counted) when the codec fails. */
  encode(key: string, value: T): string | undefined {
    try {
      return this.#codec.encode(value);
    } catch (error) {
      this.#failed("encode", key, error);
      return undefined;
    }
  }

  async set(key: string, text: string): Promise<void> {
    try {
      await this.#store.set(this.#key(key), text, this.#ttlMs);
    } catch (error) {
      this.#failed("set", key, error);
    }
  }

  /** Resolves whether the store took the tombstone. */
  async invalidate(key: string): Promise<boolean> {
    try {
      return await this.#store.invalidate(this.#key(key), this.#tombstoneTtlMs);
    } catch (error) {
      this.#failed("invalidate", key, error);
      return false;
    }
  }

  #key(key: string): string {
    return `${this.#name}:${key}`;
  }

  #failed(op: string, key: string, error: unknown): void {
    this.#metrics.l2Error();
    this.#warn({ cache: this.#name, op, key, err: errorMessage(error) }, "cache L2 operation failed");
    this.#logger?.debug({ cache: this.#name, op, key, err: error }, "cache L2 operation failed");
  }
}
