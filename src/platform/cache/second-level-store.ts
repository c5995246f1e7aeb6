/**
 * The second cache layer as LayeredCache sees it: the SecondLevelStore contract (Redis in
 * production, redis-store.ts) and MemorySecondLevelStore, an in-process implementation for tests
 * and for sharing one "L2" between several caches in one process. The write-back protocol these
 * methods carry, and why it keeps old values out: docs/cache-protocol.md.
 */
import { isFillMarker, isToken, isTombstone, newFillMarker, newTombstone } from "./cache-tokens.js";

/**
 * What a key held when it was read, for a later conditional `fill`: the exact stored text (a
 * tombstone, a fill marker, or a value the reader could not use). Never "nothing" (see
 * SecondLevelStore). Opaque to callers.
 */
export type Observed = string;

export interface SecondLevelRead {
  /** The stored value; undefined when it was a token, or the store could not be asked. */
  value: string | undefined;
  /**
   * What the key held, for `fill`; undefined when the store could not be asked (or must not be
   * trusted for this key right now): the caller must not fill then.
   */
  observed: Observed | undefined;
}

/**
 * A shared string key/value store. A key holds a value, a token (cache-tokens.ts, reads as a miss)
 * or nothing; a `read` never observes "nothing". A value loaded after a read that observed X is
 * written back by `fill(…, X)`, stored only while the key still holds X: an invalidation executed
 * in between replaced X with a new token for good, so the fill is refused whatever happens to the
 * key afterwards (expiry, eviction, a restart). Expiry is never needed for safety.
 * Implementations never make a read fail because the store is down: every operation resolves, as
 * a miss, a no-op or a refused fill (LayeredCache still treats a rejection the same way).
 */
export interface SecondLevelStore {
  /**
   * The stored value, or undefined when absent, a token, or the store could not be asked. Never
   * writes anything (use `read` before a load whose result is to be filled).
   */
  get(key: string): Promise<string | undefined>;
  /**
   * Like `get`, also reporting what the key held, for a later `fill`. When the key holds nothing,
   * installs a new fill marker that expires after `markerTtlMs` (or answers what another client
   * put there first) in one atomic step, and reports it as observed.
   */
  read(key: string, markerTtlMs: number): Promise<SecondLevelRead>;
  /** Stores `value` unconditionally; `ttlMs` (> 0) bounds how long it is kept. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /**
   * Stores `value` only if the key still holds exactly `observed`, atomically. Resolves true when
   * stored, false when refused (or not done).
   */
  fill(key: string, value: string, observed: Observed, ttlMs?: number): Promise<boolean>;
  /**
   * Replaces the key's entry with a new tombstone that expires after `tombstoneTtlMs`. Resolves
   * true once the store holds it, false when it could not be written (a store that remembers the
   * loss replays it later).
   */
  invalidate(key: string, tombstoneTtlMs: number): Promise<boolean>;
  /** Removes the key's entry (a fill is refused afterwards too: it compares against a token). */
  delete(key: string): Promise<void>;
  /** Resolves when the store is reachable now, rejects otherwise (readiness probes). */
  ping(): Promise<void>;
  /** Releases connections; later calls are no-ops / misses. */
  close(): Promise<void>;
}

/** Operation counts of the in-memory store, so tests can assert how often the layer was asked. */
export interface MemoryStoreCounts {
  /** `get` and `read` calls. */
  get: number;
  /** Fill markers installed by `read`. */
  marker: number;
  set: number;
  fill: number;
  /** Fills refused because the key no longer held what was observed. */
  refused: number;
  invalidate: number;
  delete: number;
}

/**
 * An in-process SecondLevelStore (a Map with optional expiry) for tests and for sharing one
 * "L2" between several caches in one process. Not bounded: do not use it as a production cache.
 */
export class MemorySecondLevelStore implements SecondLevelStore {
  readonly counts: MemoryStoreCounts = {
    get: 0,
    marker: 0,
    set: 0,
    fill: 0,
    refused: 0,
    invalidate: 0,
    delete: 0,
  };
  readonly #entries = new Map<string, { value: string; expiresAt: number | undefined }>();
  #closed = false;

  async get(key: string): Promise<string | undefined> {
    this.counts.get++;
    return this.peek(key);
  }

  async read(key: string, markerTtlMs: number): Promise<SecondLevelRead> {
    this.counts.get++;
    if (this.#closed) return { value: undefined, observed: undefined };
    let raw = this.peekRaw(key);
    if (raw === undefined) {
      raw = newFillMarker();
      this.counts.marker++;
      this.#put(key, raw, Math.max(1, Math.ceil(markerTtlMs)));
    }
    return { value: isToken(raw) ? undefined : raw, observed: raw };
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.counts.set++;
    this.#put(key, value, ttlMs);
  }

  async fill(key: string, value: string, observed: Observed, ttlMs?: number): Promise<boolean> {
    this.counts.fill++;
    if (this.#closed) return false;
    if (this.peekRaw(key) !== observed) {
      this.counts.refused++;
      return false;
    }
    this.#put(key, value, ttlMs);
    return true;
  }

  async invalidate(key: string, tombstoneTtlMs: number): Promise<boolean> {
    this.counts.invalidate++;
    this.#put(key, newTombstone(), tombstoneTtlMs);
    return !this.#closed;
  }

  async delete(key: string): Promise<void> {
    this.counts.delete++;
    this.#entries.delete(key);
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new Error("store is closed");
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#entries.clear();
  }

  /** The value as `get` would answer it, without counting (for assertions). */
  peek(key: string): string | undefined {
    const raw = this.peekRaw(key);
    return raw === undefined || isToken(raw) ? undefined : raw;
  }

  /** What the key holds, tombstones included, without counting (for assertions). */
  peekRaw(key: string): string | undefined {
    if (this.#closed) return undefined;
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** True while the key holds a tombstone (for assertions). */
  tombstoned(key: string): boolean {
    const raw = this.peekRaw(key);
    return raw !== undefined && isTombstone(raw);
  }

  /** True while the key holds a fill marker (for assertions). */
  marked(key: string): boolean {
    const raw = this.peekRaw(key);
    return raw !== undefined && isFillMarker(raw);
  }

  /** Forgets every entry, as a Redis restarted without persistence would (for tests). */
  wipe(): void {
    this.#entries.clear();
  }

  #put(key: string, value: string, ttlMs: number | undefined): void {
    if (this.#closed) return;
    const expiresAt = ttlMs !== undefined && ttlMs > 0 ? Date.now() + ttlMs : undefined;
    this.#entries.set(key, { value, expiresAt });
  }
}
