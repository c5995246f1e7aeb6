/**
 * A generic two-layer read-through cache: L1 is a bounded in-process LRU map holding the values
 * themselves (no serialization on a hit, values are treated as immutable), L2 an optional shared
 * string store (Redis), and below both the caller's `load` (the database).
 *
 * Guarantees (within one process):
 * - Single flight: concurrent misses of one key share one L2 read and at most one load.
 * - No stale reads: once `invalidate(key)` or `set(key, …)` has resolved, no `get(key)` that
 *   starts afterwards returns the value from before, and no read or load that started before
 *   fills L1 or L2 afterwards. Every in-flight read of a key carries a "stale" mark that
 *   invalidate/set/clear raise; a marked read still answers the callers that joined it (they
 *   started before the write) but fills nothing, and later gets start a new read instead of
 *   joining it.
 * - L2 trouble never fails a read: L2 errors are counted, logged (rate-limited) and treated as a
 *   miss / no-op.
 *
 * Across processes the cache cannot see writes made elsewhere: the caller invalidates every
 * process's L1 (e.g. from the product events). A process whose load read the old row just before
 * another process's write can still put that old value into L2 until its own invalidation (from
 * the event) deletes it again; `l2TtlMs` bounds how long any such leftover can live.
 */
import type { Logger } from "../logger.js";
import { Counter, type Registry } from "../metrics.js";
import { errorMessage, rateLimitedWarn } from "./rate-limited-log.js";
import type { SecondLevelStore } from "./second-level-store.js";

export interface CacheCodec<T> {
  encode(value: T): string;
  decode(text: string): T;
}

export interface LayeredCacheOptions<T> {
  /** Names the cache in metrics and logs, and prefixes its L2 keys (`${name}:${key}`). */
  name: string;
  /** L1 bound; the least recently used entry is evicted beyond it. */
  maxEntries: number;
  /** The shared second layer; absent means L1 only. */
  l2?: SecondLevelStore;
  /** How values are written to / read from L2. */
  codec: CacheCodec<T>;
  /** The source of truth; undefined means "not found" (which is not cached). */
  load(key: string): Promise<T | undefined>;
  /** Expiry of L2 entries written by this cache; absent means no expiry. */
  l2TtlMs?: number;
  /**
   * With an L2, read through L2 every time instead of answering from L1: a write made through
   * another process (which deletes the L2 entry before it answers) is then seen at once, not
   * only once that process's invalidation event arrives. Costs one L2 round trip per read.
   */
  readThroughL2?: boolean;
  metrics?: Registry;
  logger?: Logger;
}

/** The source of every full reload: all entries that should be cached now. */
export type LoadAll<T> = () => Promise<Iterable<readonly [string, T]>>;

interface Flight<T> {
  promise: Promise<T | undefined>;
  /** Raised by invalidate/set/clear: the result must not be put into L1 or L2. */
  stale: boolean;
  /** How many gets share this flight (for metrics). */
  waiters: number;
}

interface ReloadState {
  /** Keys invalidated or set since the reload started: the reload must not overwrite them. */
  touched: Set<string>;
  /** Raised by clear(): the reload installs nothing more. */
  aborted: boolean;
}

interface Instruments {
  /** Add each cache's pending L1 hit tally to `hits`; run when the registry is scraped. */
  flushers: Set<() => void>;
  hits: Counter<"cache" | "layer">;
  misses: Counter<"cache">;
  loads: Counter<"cache">;
  l2Errors: Counter<"cache">;
}

interface BoundInstruments {
  l1Hit(): void;
  l2Hit(count: number): void;
  miss(count: number): void;
  load(): void;
  l2Error(): void;
}

/** How many L2 writes a full reload keeps in flight at once. */
const RELOAD_L2_CONCURRENCY = 64;

export class LayeredCache<T> {
  readonly name: string;
  readonly #maxEntries: number;
  readonly #l2: SecondLevelStore | undefined;
  readonly #codec: CacheCodec<T>;
  readonly #load: (key: string) => Promise<T | undefined>;
  readonly #l2TtlMs: number | undefined;
  /** True when L1 must not answer reads (see readThroughL2). */
  readonly #l1Bypassed: boolean;
  readonly #logger: Logger | undefined;
  readonly #warn: (fields: Record<string, unknown>, message: string) => void;
  readonly #metrics: BoundInstruments;

  /** L1: insertion order is recency order (a hit moves the key to the end). */
  readonly #l1 = new Map<string, T>();
  readonly #flights = new Map<string, Flight<T>>();
  readonly #reloads = new Set<ReloadState>();
  /** L2 fills not awaited by their get (see flushWrites). */
  readonly #backgroundWrites = new Set<Promise<void>>();

  constructor(options: LayeredCacheOptions<T>) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`LayeredCache ${options.name}: maxEntries must be a positive integer`);
    }
    if (options.l2TtlMs !== undefined && !(options.l2TtlMs > 0)) {
      throw new RangeError(`LayeredCache ${options.name}: l2TtlMs must be positive`);
    }
    this.name = options.name;
    this.#maxEntries = options.maxEntries;
    this.#l2 = options.l2;
    this.#codec = options.codec;
    this.#load = options.load;
    this.#l2TtlMs = options.l2TtlMs;
    this.#l1Bypassed = options.readThroughL2 === true && options.l2 !== undefined;
    this.#logger = options.logger;
    this.#warn = rateLimitedWarn(options.logger, 10_000);
    this.#metrics = bindInstruments(options.metrics, options.name);
  }

  /** Number of entries in L1. */
  get size(): number {
    return this.#l1.size;
  }

  /**
   * L1 only, synchronously: the cached value or undefined (always undefined with readThroughL2).
   * Counts as an L1 hit when found.
   */
  getIfPresent(key: string): T | undefined {
    if (this.#l1Bypassed) return undefined;
    const value = this.#l1.get(key);
    if (value !== undefined) {
      this.#l1.delete(key);
      this.#l1.set(key, value);
      this.#metrics.l1Hit();
    }
    return value;
  }

  /** L1 → L2 → load. A found value fills the layers above the one it came from. */
  get(key: string): Promise<T | undefined> {
    const value = this.getIfPresent(key);
    if (value !== undefined) return Promise.resolve(value);
    let flight = this.#flights.get(key);
    if (flight === undefined) flight = this.#startFlight(key);
    flight.waiters++;
    return flight.promise;
  }

  /**
   * Forgets `key` in L1 and L2. Once this resolves, no get returns the value from before and no
   * read that started before fills either layer.
   */
  async invalidate(key: string): Promise<void> {
    this.#forget(key);
    if (this.#l2 === undefined) return;
    await this.#l2Delete(this.#l2, key);
    // A get that started while the L2 delete was in flight may have read the old value from a
    // store that does not order a read after a pending delete: drop whatever it put in L1.
    this.#forget(key);
  }

  /** Write-through after a known write: `value` replaces whatever L1 and L2 held for `key`. */
  async set(key: string, value: T): Promise<void> {
    this.#forget(key);
    this.#l1Put(key, value);
    const l2 = this.#l2;
    if (l2 === undefined) return;
    let text: string;
    try {
      text = this.#codec.encode(value);
    } catch (error) {
      // The L2 entry would be stale now: remove it instead.
      this.#l2Failed("encode", key, error);
      await this.#l2Delete(l2, key);
      return;
    }
    await this.#l2Set(l2, key, text);
  }

  /**
   * The scheduled full reload: calls `loadAll`, then replaces L1 with its entries (up to
   * maxEntries) and writes them all to L2. Keys invalidated or set while `loadAll` ran keep
   * their newer state instead of the reloaded one, so a reload never resurrects an old value.
   */
  async reloadAll(loadAll: LoadAll<T>): Promise<void> {
    const state: ReloadState = { touched: new Set(), aborted: false };
    this.#reloads.add(state);
    try {
      const entries = await loadAll();
      if (state.aborted) return;
      const fresh = new Map<string, T>();
      const forL2: Array<readonly [string, T]> = [];
      for (const [key, value] of entries) {
        if (value === undefined || state.touched.has(key)) continue;
        if (fresh.size < this.#maxEntries || fresh.has(key)) fresh.set(key, value);
        if (this.#l2 !== undefined) forL2.push([key, value]);
      }
      // Keys written since the reload started keep what L1 holds for them now.
      for (const key of state.touched) {
        const current = this.#l1.get(key);
        if (current !== undefined && fresh.size < this.#maxEntries) fresh.set(key, current);
      }
      this.#l1.clear();
      for (const [key, value] of fresh) this.#l1.set(key, value);
      if (this.#l2 !== undefined) await this.#writeReloadToL2(this.#l2, forL2, state);
    } finally {
      this.#reloads.delete(state);
    }
  }

  /**
   * `reloadAll` with entries already in hand. They are treated as read now: prefer `reloadAll`,
   * which also protects writes made while the entries were being read.
   */
  replaceAll(entries: Iterable<readonly [string, T]>): Promise<void> {
    return this.reloadAll(async () => entries);
  }

  /**
   * Empties L1, stops every in-flight read and reload from filling anything. L2 is shared with
   * other processes and is left as it is (use invalidate for keys whose L2 entry must go).
   */
  clear(): void {
    this.#l1.clear();
    for (const flight of this.#flights.values()) flight.stale = true;
    this.#flights.clear();
    for (const reload of this.#reloads) reload.aborted = true;
  }

  /** Resolves once the L2 fills started so far (by gets, in the background) have settled. */
  async flushWrites(): Promise<void> {
    while (this.#backgroundWrites.size > 0) await Promise.all([...this.#backgroundWrites]);
  }

  #track(write: Promise<void>): void {
    this.#backgroundWrites.add(write);
    void write.finally(() => this.#backgroundWrites.delete(write));
  }

  #startFlight(key: string): Flight<T> {
    const flight: Flight<T> = { promise: Promise.resolve(undefined), stale: false, waiters: 0 };
    this.#flights.set(key, flight);
    flight.promise = this.#fly(key, flight);
    return flight;
  }

  async #fly(key: string, flight: Flight<T>): Promise<T | undefined> {
    let fromL2 = false;
    try {
      const l2 = this.#l2;
      if (l2 !== undefined) {
        const value = await this.#l2Get(l2, key);
        if (value !== undefined) {
          fromL2 = true;
          if (!flight.stale) this.#l1Put(key, value);
          return value;
        }
      }
      this.#metrics.load();
      const value = await this.#load(key);
      if (value !== undefined && !flight.stale) {
        this.#l1Put(key, value);
        // Issued synchronously after the stale check, so a later invalidate's L2 delete is
        // ordered after this write (stores keep per-key call order).
        if (l2 !== undefined) this.#track(this.#l2Fill(l2, key, value));
      }
      return value;
    } finally {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
      if (fromL2) this.#metrics.l2Hit(flight.waiters);
      else this.#metrics.miss(flight.waiters);
    }
  }

  /** Removes `key` from L1 and keeps every read or reload in progress from filling it. */
  #forget(key: string): void {
    this.#l1.delete(key);
    const flight = this.#flights.get(key);
    if (flight !== undefined) {
      flight.stale = true;
      this.#flights.delete(key);
    }
    for (const reload of this.#reloads) reload.touched.add(key);
  }

  #l1Put(key: string, value: T): void {
    this.#l1.delete(key);
    this.#l1.set(key, value);
    if (this.#l1.size > this.#maxEntries) {
      const oldest = this.#l1.keys().next();
      if (!oldest.done) this.#l1.delete(oldest.value);
    }
  }

  #l2Key(key: string): string {
    return `${this.name}:${key}`;
  }

  async #l2Get(l2: SecondLevelStore, key: string): Promise<T | undefined> {
    let text: string | undefined;
    try {
      text = await l2.get(this.#l2Key(key));
    } catch (error) {
      this.#l2Failed("get", key, error);
      return undefined;
    }
    if (text === undefined) return undefined;
    try {
      return this.#codec.decode(text);
    } catch (error) {
      // An unreadable entry (e.g. written by an older version) is a miss; the load overwrites it.
      this.#l2Failed("decode", key, error);
      return undefined;
    }
  }

  async #l2Fill(l2: SecondLevelStore, key: string, value: T): Promise<void> {
    let text: string;
    try {
      text = this.#codec.encode(value);
    } catch (error) {
      this.#l2Failed("encode", key, error);
      return;
    }
    await this.#l2Set(l2, key, text);
  }

  async #l2Set(l2: SecondLevelStore, key: string, text: string): Promise<void> {
    try {
      await l2.set(this.#l2Key(key), text, this.#l2TtlMs);
    } catch (error) {
      this.#l2Failed("set", key, error);
    }
  }

  async #l2Delete(l2: SecondLevelStore, key: string): Promise<void> {
    try {
      await l2.delete(this.#l2Key(key));
    } catch (error) {
      this.#l2Failed("delete", key, error);
    }
  }

  async #writeReloadToL2(
    l2: SecondLevelStore,
    entries: Array<readonly [string, T]>,
    state: ReloadState,
  ): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < entries.length && !state.aborted) {
        const entry = entries[next++];
        if (entry === undefined) return;
        const [key, value] = entry;
        // Checked right before the write is issued: a key touched since is left to its writer.
        if (state.touched.has(key)) continue;
        await this.#l2Fill(l2, key, value);
      }
    };
    const workers: Promise<void>[] = [];
    for (let i = 0; i < Math.min(RELOAD_L2_CONCURRENCY, entries.length); i++) workers.push(worker());
    await Promise.all(workers);
  }

  #l2Failed(op: string, key: string, error: unknown): void {
    this.#metrics.l2Error();
    this.#warn({ cache: this.name, op, key, err: errorMessage(error) }, "cache L2 operation failed");
    this.#logger?.debug({ cache: this.name, op, key, err: error }, "cache L2 operation failed");
  }
}

const instrumentsByRegistry = new WeakMap<Registry, Instruments>();

function instrumentsFor(registry: Registry): Instruments {
  let instruments = instrumentsByRegistry.get(registry);
  if (instruments === undefined) {
    const flushers = new Set<() => void>();
    const existingHits = registry.getSingleMetric("cache_hits_total");
    instruments = {
      flushers,
      hits:
        existingHits instanceof Counter
          ? (existingHits as Counter<"cache" | "layer">)
          : new Counter({
              name: "cache_hits_total",
              help: "Cache reads answered by a cache layer.",
              labelNames: ["cache", "layer"],
              registers: [registry],
              // L1 hits are tallied in plain numbers and added here, at scrape time: a labelled
              // increment hashes its labels, a visible cost on the hottest read.
              collect() {
                for (const flush of flushers) flush();
              },
            }),
      misses: counter(registry, "cache_misses_total", "Cache reads answered by neither layer.", ["cache"]),
      loads: counter(registry, "cache_loads_total", "Loads from the source of truth.", ["cache"]),
      l2Errors: counter(
        registry,
        "cache_l2_errors_total",
        "Second-layer operations that failed (treated as a miss / no-op).",
        ["cache"],
      ),
    };
    instrumentsByRegistry.set(registry, instruments);
  }
  return instruments;
}

function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function bindInstruments(registry: Registry | undefined, cache: string): BoundInstruments {
  if (registry === undefined) {
    const noop = (): void => {};
    return { l1Hit: noop, l2Hit: noop, miss: noop, load: noop, l2Error: noop };
  }
  const instruments = instrumentsFor(registry);
  const l1 = instruments.hits.labels({ cache, layer: "l1" });
  let l1Pending = 0;
  instruments.flushers.add(() => {
    if (l1Pending > 0) l1.inc(l1Pending);
    l1Pending = 0;
  });
  const l2 = instruments.hits.labels({ cache, layer: "l2" });
  const misses = instruments.misses.labels({ cache });
  const loads = instruments.loads.labels({ cache });
  const l2Errors = instruments.l2Errors.labels({ cache });
  return {
    l1Hit: () => {
      l1Pending++;
    },
    l2Hit: (count) => {
      if (count > 0) l2.inc(count);
    },
    miss: (count) => {
      if (count > 0) misses.inc(count);
    },
    load: () => loads.inc(),
    l2Error: () => l2Errors.inc(),
  };
}
