/**
 * The second cache layer as LayeredCache sees it: a shared string key/value store (Redis in
 * production, see redis-store.ts). Implementations should never make a read fail because the
 * store is down: every operation resolves (as a miss / no-op / refused fill) on trouble.
 * LayeredCache still guards against a store that rejects, and treats a rejection the same way.
 *
 * Cross-process write-back protocol (several processes share one store):
 * - `invalidate(key, ttlMs)` replaces whatever the key holds with a tombstone: a marker that
 *   reads as a miss, is unique to that invalidation and expires after `ttlMs`.
 * - A reader that misses uses `read(key)`, which also reports what the key held (`observed`:
 *   absent, a tombstone, an unreadable value). After loading from the source of truth it writes
 *   back with `fill(key, value, observed)`, which stores the value only if the key still holds
 *   exactly what was observed (atomically: compare-and-set). An invalidation that happened in
 *   between (in any process) left a new, unique tombstone, so the fill of a value read before
 *   that write is refused; a fill whose read saw that tombstone (its load started after the
 *   write) replaces it. `fill(key, value, ABSENT)` is "set if absent" (Redis SET NX).
 * - `set` is unconditional: a write-through of a value known to be current.
 * A tombstone must outlive every read → load → fill cycle that may have observed the state
 * before it (otherwise the key is absent again and a late fill that observed "absent" passes);
 * LayeredCache drops fills that come too late for the tombstone lifetime it uses.
 */
import { randomBytes } from "node:crypto";

/**
 * What a key held when it was read, for a later conditional `fill`: `ABSENT` (null), or the
 * exact stored text (a tombstone, or a value the reader could not use). Opaque to callers.
 */
export type Observed = string | null;

/** The observation "the key held nothing": `fill(key, value, ABSENT)` is set-if-absent. */
export const ABSENT: Observed = null;

export interface SecondLevelRead {
  /** The stored value; undefined when absent, a tombstone, or the store could not be asked. */
  value: string | undefined;
  /**
   * What the key held, for `fill`; undefined when the store could not be asked (or must not be
   * trusted for this key right now): the caller must not fill then.
   */
  observed: Observed | undefined;
}

export interface SecondLevelStore {
  /** The stored value, or undefined when absent, a tombstone, or the store could not be asked. */
  get(key: string): Promise<string | undefined>;
  /** Like `get`, also reporting what the key held, for a later `fill`. */
  read(key: string): Promise<SecondLevelRead>;
  /** Stores `value` unconditionally; `ttlMs` (> 0) bounds how long it is kept. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /**
   * Stores `value` only if the key still holds exactly `observed` (ABSENT: holds nothing),
   * atomically. Resolves true when stored, false when refused (or not done).
   */
  fill(key: string, value: string, observed: Observed, ttlMs?: number): Promise<boolean>;
  /** Replaces the key's entry with a new tombstone that expires after `tombstoneTtlMs`. */
  invalidate(key: string, tombstoneTtlMs: number): Promise<void>;
  /** Removes the key's entry (no tombstone: prefer `invalidate` for a key that was written). */
  delete(key: string): Promise<void>;
  /** Resolves when the store is reachable now, rejects otherwise (readiness probes). */
  ping(): Promise<void>;
  /** Releases connections; later calls are no-ops / misses. */
  close(): Promise<void>;
}

/**
 * Tombstones start with a NUL character, which no codec's text starts with in practice (JSON,
 * base64); then a random tag of this process and a counter, so every invalidation leaves a
 * tombstone that no other invalidation (in any process) leaves.
 */
const TOMBSTONE_PREFIX = "\u0000tombstone:";
const processTag = randomBytes(9).toString("base64url");
let tombstones = 0;

/** A tombstone no other call (in this or another process) returns. */
export function newTombstone(): string {
  tombstones++;
  return `${TOMBSTONE_PREFIX}${processTag}:${tombstones.toString(36)}`;
}

export function isTombstone(text: string): boolean {
  return text.startsWith(TOMBSTONE_PREFIX);
}

/** Operation counts of the in-memory store, so tests can assert how often the layer was asked. */
export interface MemoryStoreCounts {
  get: number;
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
  readonly counts: MemoryStoreCounts = { get: 0, set: 0, fill: 0, refused: 0, invalidate: 0, delete: 0 };
  readonly #entries = new Map<string, { value: string; expiresAt: number | undefined }>();
  #closed = false;

  async get(key: string): Promise<string | undefined> {
    return (await this.read(key)).value;
  }

  async read(key: string): Promise<SecondLevelRead> {
    this.counts.get++;
    if (this.#closed) return { value: undefined, observed: undefined };
    const raw = this.peekRaw(key);
    return { value: raw === undefined || isTombstone(raw) ? undefined : raw, observed: raw ?? ABSENT };
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.counts.set++;
    this.#put(key, value, ttlMs);
  }

  async fill(key: string, value: string, observed: Observed, ttlMs?: number): Promise<boolean> {
    this.counts.fill++;
    if (this.#closed) return false;
    if ((this.peekRaw(key) ?? ABSENT) !== observed) {
      this.counts.refused++;
      return false;
    }
    this.#put(key, value, ttlMs);
    return true;
  }

  async invalidate(key: string, tombstoneTtlMs: number): Promise<void> {
    this.counts.invalidate++;
    this.#put(key, newTombstone(), tombstoneTtlMs);
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
    return raw === undefined || isTombstone(raw) ? undefined : raw;
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

  /** Keys currently held, tombstoned ones included (for assertions). */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  #put(key: string, value: string, ttlMs: number | undefined): void {
    if (this.#closed) return;
    const expiresAt = ttlMs !== undefined && ttlMs > 0 ? Date.now() + ttlMs : undefined;
    this.#entries.set(key, { value, expiresAt });
  }
}
