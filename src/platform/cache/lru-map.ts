/**
 * LayeredCache's first level: a bounded in-process map of the values themselves (no
 * serialization on a hit) that evicts the least recently used entry. The cache as a whole:
 * layered-cache.ts and docs/cache-protocol.md.
 */
export class LruMap<V> {
  readonly #maxEntries: number;
  /** Insertion order is recency order: a hit moves the key to the end. */
  readonly #entries = new Map<string, V>();
  /**
   * The key at the end, when known: a hit on it moves nothing. A hot product read over and over
   * would otherwise delete and re-insert its entry on every read, and the Map rehash now and then.
   */
  #newest: string | undefined;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, which becomes the most recently used entry. */
  get(key: string): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined && key !== this.#newest) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
      this.#newest = key;
    }
    return value;
  }

  /** The value, without touching its recency. */
  peek(key: string): V | undefined {
    return this.#entries.get(key);
  }

  /** Stores `value` as the most recently used entry, evicting the least recently used beyond the bound. */
  put(key: string, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    this.#newest = key;
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  /** Replaces every entry with `entries`, in their order; the caller keeps them within the bound. */
  replaceAll(entries: ReadonlyMap<string, V>): void {
    this.#entries.clear();
    this.#newest = undefined;
    for (const [key, value] of entries) this.#entries.set(key, value);
  }

  delete(key: string): void {
    this.#entries.delete(key);
    if (key === this.#newest) this.#newest = undefined;
  }

  clear(): void {
    this.#entries.clear();
    this.#newest = undefined;
  }
}
