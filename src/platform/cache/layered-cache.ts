/**
 * A generic two-layer read-through cache: L1 a bounded in-process LRU map of the values themselves
 * (lru-map.ts), L2 an optional shared string store (Redis; layered-cache-l2.ts), and below both the
 * caller's `load` (the database). Concurrent misses of a key share one flight (single-flight.ts);
 * the full reload is full-reload.ts. The protocol that keeps old values out of both layers, its
 * diagrams and the limits it states: docs/cache-protocol.md.
 */
import type { Logger } from "../logger.js";
import type { Registry } from "../metrics.js";
import type { CachePeers } from "./cache-peers.js";
import { FullReload, type LoadAll } from "./full-reload.js";
import { type CacheCodec, LayeredCacheL2 } from "./layered-cache-l2.js";
import { type CacheMetrics, cacheMetrics } from "./layered-cache-metrics.js";
import { LruMap } from "./lru-map.js";
import type { Observed, SecondLevelStore } from "./second-level-store.js";
import { type Flight, Flights } from "./single-flight.js";

export interface LayeredCacheOptions<T> {
  /** Names the cache in metrics and logs, and prefixes its L2 keys (`${name}:${key}`). */
  name: string;
  /** L1 bound; the least recently used entry is evicted beyond it. */
  maxEntries: number;
  /** The shared second layer; absent means L1 only. */
  l2?: SecondLevelStore;
  /** How values are written to / read from L2 (required with an L2). */
  codec?: CacheCodec<T>;
  /** The source of truth; undefined means "not found" (which is not cached). */
  load(key: string): Promise<T | undefined>;
  /** Expiry of L2 entries written by this cache; absent means no expiry. */
  l2TtlMs?: number;
  /**
   * How long the tombstone `invalidate` leaves in L2, and the fill marker a read installs on an
   * empty key, live (default 60 s). A fill is not sent later than this after its L2 read (it would
   * be refused), so it should comfortably exceed the slowest load (a reload's second read of the
   * entries). A longer one costs only memory: one small L2 entry per key invalidated or missed
   * within it. Safety does not depend on it.
   */
  l2TombstoneTtlMs?: number;
  /**
   * With an L2, read through L2 every time instead of answering from L1: a write made through
   * another process (which tombstones the L2 entry before it answers) is then seen at once, not
   * only once that process's invalidation event arrives. Costs one L2 round trip per read, and a
   * get never joins a flight whose L2 read was already issued (it waits for the next one).
   */
  readThroughL2?: boolean;
  /**
   * The processes keeping copies of the same keys: with them, L1 answers while this process holds
   * its freshness lease (else reads go through L2 or load, as readThroughL2 does), and every
   * invalidate or set makes every process forget the key before it resolves
   * (docs/cache-protocol.md, "(e) L1 under a freshness lease").
   */
  peers?: CachePeers;
  /**
   * A copy of a cache of the same name that it reads through (a gateway's edge copy of inventory's
   * products): it counts only the reads its L1 answered, as the cache below counts every read that
   * reaches it; its loads are reads of that cache, not of the source.
   */
  countsAsCopy?: boolean;
  metrics?: Registry;
  logger?: Logger;
}

/** How many keys a reload's forget to the peers carries in one message. */
const PEER_FORGET_CHUNK = 1000;

/** Default lifetime of an L2 tombstone (see l2TombstoneTtlMs). */
export const DEFAULT_L2_TOMBSTONE_TTL_MS = 60_000;

export class LayeredCache<T> {
  readonly name: string;
  readonly #maxEntries: number;
  /** L1; undefined when reads go through L2 every time (readThroughL2), as L1 would never answer. */
  readonly #l1: LruMap<T> | undefined;
  readonly #l2: LayeredCacheL2<T> | undefined;
  readonly #load: (key: string) => Promise<T | undefined>;
  /** True when every get reads L2 (see readThroughL2) while L1 does not answer. */
  readonly #readThroughL2: boolean;
  /**
   * Whether a flight is sealed once it starts reading (see Flight.sealed): readThroughL2, or peers
   * in other processes (a write in this process marks its flights stale itself).
   */
  readonly #sealFlights: boolean;
  readonly #peers: CachePeers | undefined;
  readonly #metrics: CacheMetrics;
  readonly #flights = new Flights<T>((key, flight) => this.#fly(key, flight));
  readonly #reloads = new Set<FullReload<T>>();
  /**
   * Raised while this cache tells its peers to forget: peers in this process call every listener,
   * this cache's own among them, before `forget` returns, and this cache has already done what its
   * listener would (and may have put a new value since).
   */
  #tellingPeers = false;
  /** L2 fills not awaited by their get (see flushWrites). */
  readonly #backgroundWrites = new Set<Promise<void>>();

  constructor(options: LayeredCacheOptions<T>) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`LayeredCache ${options.name}: maxEntries must be a positive integer`);
    }
    if (options.l2TtlMs !== undefined && !(options.l2TtlMs > 0)) {
      throw new RangeError(`LayeredCache ${options.name}: l2TtlMs must be positive`);
    }
    if (options.l2TombstoneTtlMs !== undefined && !(options.l2TombstoneTtlMs >= 2)) {
      throw new RangeError(`LayeredCache ${options.name}: l2TombstoneTtlMs must be at least 2 ms`);
    }
    this.name = options.name;
    this.#maxEntries = options.maxEntries;
    this.#load = options.load;
    this.#metrics = cacheMetrics(options.metrics, options.name, { copy: options.countsAsCopy === true });
    this.#readThroughL2 = options.readThroughL2 === true && options.l2 !== undefined;
    this.#peers = options.peers;
    this.#sealFlights = this.#readThroughL2 || this.#peers?.spansProcesses === true;
    // With peers, L1 answers under the lease; with readThroughL2 alone it never would.
    this.#l1 = this.#readThroughL2 && this.#peers === undefined ? undefined : new LruMap(options.maxEntries);
    const codec = options.codec;
    if (options.l2 !== undefined && codec === undefined) {
      throw new RangeError(`LayeredCache ${options.name}: an L2 needs a codec`);
    }
    this.#l2 =
      options.l2 === undefined || codec === undefined
        ? undefined
        : new LayeredCacheL2({
            name: options.name,
            store: options.l2,
            codec,
            ttlMs: options.l2TtlMs,
            tombstoneTtlMs: Math.ceil(options.l2TombstoneTtlMs ?? DEFAULT_L2_TOMBSTONE_TTL_MS),
            metrics: this.#metrics,
            logger: options.logger,
            // What L1 would hold, had it not been skipped.
            decodedEntries: this.#l1 === undefined ? options.maxEntries : 0,
          });
    this.#peers?.listen(this.name, (keys) => {
      if (this.#tellingPeers) return;
      if (keys === undefined) this.clear();
      else for (const key of keys) this.#forget(key);
    });
  }

  /** Number of entries in L1. */
  get size(): number {
    return this.#l1?.size ?? 0;
  }

  /**
   * L1 only, synchronously: the cached value or undefined (always undefined with readThroughL2
   * alone, and with peers while this process holds no freshness lease). Counts as an L1 hit when
   * found.
   */
  getIfPresent(key: string): T | undefined {
    if (this.#peers !== undefined && !this.#peers.inSync()) return undefined;
    const value = this.#l1?.get(key);
    if (value !== undefined) this.#metrics.l1Hit();
    return value;
  }

  /** L1 → L2 → load. A found value fills the layers above the one it came from. */
  get(key: string): Promise<T | undefined> {
    const value = this.getIfPresent(key);
    if (value !== undefined) return Promise.resolve(value);
    return this.#flights.join(key);
  }

  /**
   * Forgets `key` in L1, tombstones it in L2, then has every peer forget it. Once this resolves,
   * no get (here; with readThroughL2 or peers, in any process sharing L2 or a peer) returns the
   * value from before, and no read that started before fills either layer (stale marks here and
   * in the peers; elsewhere the tombstone). Resolves true when L2 took the tombstone (or there is
   * no L2), false when it could not (the store replays it later, unless this process dies first).
   */
  async invalidate(key: string): Promise<boolean> {
    this.#forget(key);
    let tombstoned = true;
    if (this.#l2 !== undefined) {
      tombstoned = await this.#l2.invalidate(key);
      // A get that started while the tombstone write was in flight may have read the old value
      // from a store that does not order a read after a pending write: drop whatever it put in L1.
      this.#forget(key);
    }
    // After the tombstone: a peer that forgets and reads again must find it.
    await this.#tellPeers([key]);
    return tombstoned;
  }

  /**
   * Forgets `key` in this process only: drops it from L1 (and from every copy in this process the
   * peers know) and keeps every read or reload in progress here from filling it (L1 or L2). Writes
   * nothing to L2: for a write made by another process, which invalidates L2 itself
   * (docs/cache-protocol.md, "(c)").
   */
  forgetLocally(key: string): void {
    this.#forget(key);
    this.#telling((peers) => peers.forgetHere(this.name, [key]));
  }

  /** Write-through after a known write: `value` replaces whatever L1 and L2 held for `key`. */
  async set(key: string, value: T): Promise<void> {
    this.#forget(key);
    this.#l1?.put(key, value);
    if (this.#l2 !== undefined) {
      const text = this.#l2.encode(key, value);
      // Not encodable: the L2 entry would be stale now, so tombstone it instead.
      if (text === undefined) await this.#l2.invalidate(key);
      else await this.#l2.set(key, text);
    }
    await this.#tellPeers([key]);
  }

  /**
   * The scheduled full reload: calls `loadAll`, then replaces L1 with its entries (up to
   * maxEntries) and brings L2 in line with them. Keys invalidated or set (or forgotten) while it
   * runs keep their newer state instead of the reloaded one, so a reload never resurrects an old
   * value: here by the touched keys; across processes because L2 is never overwritten with a
   * reloaded value. Every entry is checked in L2 (maxEntries bounds L1 only; L2 is shared, and a
   * stale L2 value is what the reload exists to repair). Per key: the same value is left, a
   * different value is replaced by a tombstone (stale, e.g. changed behind the cache's back, or
   * newer than the reload: either way the next read loads the row), and a key holding a token (a
   * tombstone, or the marker the reload's read installed on an empty key) is filled with the entry
   * from a second call of `loadAll`, made after those L2 reads, by compare-and-set against that
   * token, exactly as a get's load would be. The second call is made only when some key held a
   * token; `loadAll` must read the source afresh each time.
   */
  reloadAll(loadAll: LoadAll<T>): Promise<void> {
    return this.#reload(loadAll, true);
  }

  /**
   * `reloadAll` with entries already in hand. They are treated as read now: prefer `reloadAll`,
   * which also protects writes made while the entries were being read. No key is filled in L2
   * (the entries cannot be read again after its L2 read): L1 is replaced, and L2 values that
   * differ are tombstoned.
   */
  replaceAll(entries: Iterable<readonly [string, T]>): Promise<void> {
    return this.#reload(async () => entries, false);
  }

  /**
   * Empties L1, stops every in-flight read and reload from filling anything. L2 is shared with
   * other processes and is left as it is (use invalidate for keys whose L2 entry must go).
   */
  clear(): void {
    this.#l1?.clear();
    this.#flights.markAllStale();
    for (const reload of this.#reloads) reload.abort();
  }

  /** Resolves once the L2 fills started so far (by gets, in the background) have settled. */
  async flushWrites(): Promise<void> {
    while (this.#backgroundWrites.size > 0) await Promise.all([...this.#backgroundWrites]);
  }

  async #reload(loadAll: LoadAll<T>, refill: boolean): Promise<void> {
    const reload = new FullReload<T>({ maxEntries: this.#maxEntries, l1: this.#l1, l2: this.#l2 });
    this.#reloads.add(reload);
    try {
      await reload.run(loadAll, refill);
    } finally {
      this.#reloads.delete(reload);
    }
    // The peers' copies of what the reload found changed behind the cache's back (this process's
    // own L1 was just replaced; another process hosting the module runs its own reload).
    if (this.#peers !== undefined) {
      // Without L2 nothing tells which values changed, nor which keys a copy holds (its hits never
      // refresh this L1, which may have evicted them): every other copy starts afresh. Only copies
      // in this process are without an L2 (with Redis, inventory's cache always has one).
      if (this.#l2 === undefined) this.#telling((peers) => peers.forgetHere(this.name, undefined));
      for (let start = 0; start < reload.replaced.length; start += PEER_FORGET_CHUNK) {
        await this.#tellPeers(reload.replaced.slice(start, start + PEER_FORGET_CHUNK));
      }
    }
  }

  /** Has every peer forget `keys`; this cache has already done what its own listener would. */
  async #tellPeers(keys: readonly string[]): Promise<void> {
    await this.#telling((peers) => peers.forget(this.name, keys));
  }

  /** Runs `tell` on the peers with this cache's own listener deaf to what it tells at once. */
  #telling<R>(tell: (peers: CachePeers) => R): R | undefined {
    if (this.#peers === undefined) return undefined;
    this.#tellingPeers = true;
    try {
      return tell(this.#peers);
    } finally {
      this.#tellingPeers = false;
    }
  }

  #track(write: Promise<void>): void {
    this.#backgroundWrites.add(write);
    void write.finally(() => this.#backgroundWrites.delete(write));
  }

  /** One flight of `key`: L2 read, then a load on a miss, filling what is above (unless stale). */
  async #fly(key: string, flight: Flight<T>): Promise<T | undefined> {
    let fromL2 = false;
    try {
      const l2 = this.#l2;
      let observed: Observed | undefined;
      const readAt = performance.now();
      // From here on a get must not join: this read (of L2, or the load) may be answered before a
      // write finished elsewhere that the get has already seen the end of.
      if (this.#sealFlights) flight.sealed = true;
      if (l2 !== undefined) {
        const read = await l2.readValue(key);
        if (read.value !== undefined) {
          fromL2 = true;
          if (!flight.stale) this.#l1?.put(key, read.value);
          return read.value;
        }
        observed = read.observed;
      }
      this.#metrics.load();
      const value = await this.#load(key);
      if (value !== undefined && !flight.stale) {
        this.#l1?.put(key, value);
        // Conditional on what the L2 read saw: refused when any process invalidated the key
        // since (its tombstone replaced what was seen). Not attempted when the read could not
        // tell what the key held.
        if (l2 !== undefined && observed !== undefined) {
          this.#track(l2.fill(key, value, observed, readAt));
        }
      }
      return value;
    } finally {
      this.#flights.landed(key, flight);
      if (fromL2) this.#metrics.l2Hit(flight.waiters);
      else this.#metrics.miss(flight.waiters);
    }
  }

  /** Removes `key` from L1 and keeps every read or reload in progress from filling it. */
  #forget(key: string): void {
    this.#l1?.delete(key);
    this.#flights.markStale(key);
    for (const reload of this.#reloads) reload.touch(key);
  }
}
