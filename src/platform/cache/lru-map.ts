/**
 * LayeredCache's first level: a bounded in-process map of the values themselves (no
 * serialization on a hit) that evicts the least recently used entry. The cache as a whole:
 * layered-cache.ts and docs/cache-protocol.md.
 */
export class LruMap<V> {
  readonly #maxEntries: number;
  /** Insertion order is recency order: a hit moves the key to the end. */
  readonly #entries = new Map<string, V>();

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, which becomes the most recently used entry. */
  get(key: string): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
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
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  /** Replaces every entry with `entries`, in their order; the caller keeps them within the bound. */
  replaceAll(entries: ReadonlyMap<string, V>): void {
    this.#entries.clear();
    for (const [key, value] of entries) this.#entries.set(key, value);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
