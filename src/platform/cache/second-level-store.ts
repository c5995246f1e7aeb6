/**
 * The second cache layer as LayeredCache sees it: a shared string key/value store (Redis in
 * production, see redis-store.ts). Implementations should never make a read fail because the
 * store is down: `get`, `set` and `delete` resolve (as a miss / no-op) on trouble. LayeredCache
 * still guards against a store that rejects, and treats a rejection as a miss / no-op.
 */
export interface SecondLevelStore {
  /** The stored text, or undefined when absent (or when the store could not be asked). */
  get(key: string): Promise<string | undefined>;
  /** Stores `value`; `ttlMs` (> 0) bounds how long it is kept. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Resolves when the store is reachable now, rejects otherwise (readiness probes). */
  ping(): Promise<void>;
  /** Releases connections; later calls are no-ops / misses. */
  close(): Promise<void>;
}

/** Operation counts of the in-memory store, so tests can assert how often the layer was asked. */
export interface MemoryStoreCounts {
  get: number;
  set: number;
  delete: number;
}

/**
 * An in-process SecondLevelStore (a Map with optional expiry) for tests and for sharing one
 * "L2" between several caches in one process. Not bounded: do not use it as a production cache.
 */
export class MemorySecondLevelStore implements SecondLevelStore {
  readonly counts: MemoryStoreCounts = { get: 0, set: 0, delete: 0 };
  readonly #entries = new Map<string, { value: string; expiresAt: number | undefined }>();
  #closed = false;

  async get(key: string): Promise<string | undefined> {
    this.counts.get++;
    return this.peek(key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.counts.set++;
    if (this.#closed) return;
    const expiresAt = ttlMs !== undefined && ttlMs > 0 ? Date.now() + ttlMs : undefined;
    this.#entries.set(key, { value, expiresAt });
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

  /** Reads without counting (for assertions). */
  peek(key: string): string | undefined {
    if (this.#closed) return undefined;
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Keys currently held (for assertions). */
  keys(): string[] {
    return [...this.#entries.keys()];
  }
}
