/**
 * A generic two-layer read-through cache: L1 a bounded in-process LRU map of the values themselves
 * (immutable, no serialization on a hit), L2 an optional shared string store (Redis), and below
 * both the caller's `load` (the database). Concurrent misses of a key share one L2 read and at most
 * one load; once `invalidate` or `set` has resolved no get that starts afterwards returns the old
 * value, and no read or load that started before fills anything (a "stale" mark on its flight);
 * across processes, tombstones, fill markers and compare-and-set fills keep a load's old value out
 * of L2; L2 trouble is a miss, never a failed read. The protocol, its diagrams, the full reload and
 * the limits it states: docs/cache-protocol.md.
 */
import type { Logger } from "../logger.js";
import { Counter, perRegistry, type Registry } from "../metrics.js";
import { errorMessage, rateLimitedWarn } from "../rate-limited-log.js";
import type { Observed, SecondLevelRead, SecondLevelStore } from "./second-level-store.js";

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
  /**
   * readThroughL2: raised when the flight issues its L2 read. A get that finds a sealed flight
   * does not join it (that read may have been answered before a write another process finished
   * before this get started); it starts or joins the flight that runs after it.
   */
  sealed: boolean;
  /** The sealed flight this one waits for before it starts (cleared when it starts). */
  previous: Flight<T> | undefined;
}

interface ReloadState {
  /** Keys invalidated, set or forgotten since the reload started: it must not write them. */
  touched: Set<string>;
  /** Raised by clear(): the reload installs nothing more. */
  aborted: boolean;
}

/** A key the reload found holding a token in L2: filled from the second read of the entries. */
interface RefillCandidate {
  key: string;
  observed: Observed;
  /** performance.now() when its L2 read was issued. */
  readAt: number;
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

/** How many L2 operations a full reload keeps in flight at once. */
const RELOAD_L2_CONCURRENCY = 64;

/** Default lifetime of an L2 tombstone (see l2TombstoneTtlMs). */
export const DEFAULT_L2_TOMBSTONE_TTL_MS = 60_000;

export class LayeredCache<T> {
  readonly name: string;
  readonly #maxEntries: number;
  readonly #l2: SecondLevelStore | undefined;
  readonly #codec: CacheCodec<T>;
  readonly #load: (key: string) => Promise<T | undefined>;
  readonly #l2TtlMs: number | undefined;
  /** Also how long after its L2 read a fill may be sent: the token it compares with may be gone after it. */
  readonly #tombstoneTtlMs: number;
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
    if (options.l2TombstoneTtlMs !== undefined && !(options.l2TombstoneTtlMs >= 2)) {
      throw new RangeError(`LayeredCache ${options.name}: l2TombstoneTtlMs must be at least 2 ms`);
    }
    this.name = options.name;
    this.#maxEntries = options.maxEntries;
    this.#l2 = options.l2;
    this.#codec = options.codec;
    this.#load = options.load;
    this.#l2TtlMs = options.l2TtlMs;
    this.#tombstoneTtlMs = Math.ceil(options.l2TombstoneTtlMs ?? DEFAULT_L2_TOMBSTONE_TTL_MS);
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
    if (flight === undefined || flight.sealed) flight = this.#startFlight(key, flight);
    flight.waiters++;
    return flight.promise;
  }

  /**
   * Forgets `key` in L1 and tombstones it in L2. Once this resolves, no get (here; with
   * readThroughL2, in any process sharing L2) returns the value from before, and no read that
   * started before fills either layer (here: stale marks; elsewhere: the tombstone).
   */
  async invalidate(key: string): Promise<void> {
    this.#forget(key);
    if (this.#l2 === undefined) return;
    await this.#l2Invalidate(this.#l2, key);
    // A get that started while the tombstone write was in flight may have read the old value
    // from a store that does not order a read after a pending write: drop whatever it put in L1.
    this.#forget(key);
  }

  /**
   * Forgets `key` in this process only: drops it from L1 and keeps every read or reload in
   * progress here from filling it (L1 or L2). Writes nothing to L2: for a write made by another
   * process, which invalidates L2 itself (see the header).
   */
  forgetLocally(key: string): void {
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
      // The L2 entry would be stale now: tombstone it instead.
      this.#l2Failed("encode", key, error);
      await this.#l2Invalidate(l2, key);
      return;
    }
    await this.#l2Set(l2, key, text);
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
    this.#l1.clear();
    for (const flight of this.#flights.values()) markStale(flight);
    this.#flights.clear();
    for (const reload of this.#reloads) reload.aborted = true;
  }

  async #reload(loadAll: LoadAll<T>, refill: boolean): Promise<void> {
    const state: ReloadState = { touched: new Set(), aborted: false };
    this.#reloads.add(state);
    try {
      const entries = await loadAll();
      if (state.aborted) return;
      const fresh = new Map<string, T>();
      const forL2 = new Map<string, T>();
      for (const [key, value] of entries) {
        if (value === undefined || state.touched.has(key)) continue;
        if (fresh.size < this.#maxEntries || fresh.has(key)) fresh.set(key, value);
        if (this.#l2 !== undefined) forL2.set(key, value);
      }
      // Keys written since the reload started keep what L1 holds for them now.
      for (const key of state.touched) {
        const current = this.#l1.get(key);
        if (current !== undefined && fresh.size < this.#maxEntries) fresh.set(key, current);
      }
      if (!this.#l1Bypassed) {
        this.#l1.clear();
        for (const [key, value] of fresh) this.#l1.set(key, value);
      }
      const l2 = this.#l2;
      if (l2 === undefined) return;
      const candidates: RefillCandidate[] = [];
      await this.#concurrently([...forL2], state, async ([key, value]) => {
        const candidate = await this.#reloadCheck(l2, key, value, state);
        if (candidate !== undefined) candidates.push(candidate);
      });
      if (!refill || candidates.length === 0 || state.aborted) return;
      // Read after every token was observed: a write whose invalidation was executed after the
      // observation cannot be filled over (the token is gone); any other write is in this read.
      const again = new Map<string, T>();
      for (const [key, value] of await loadAll()) if (value !== undefined) again.set(key, value);
      await this.#concurrently(candidates, state, async ({ key, observed, readAt }) => {
        const value = again.get(key);
        // Gone from the source (not cached), or written here since (its writer decides).
        if (value === undefined || state.touched.has(key)) return;
        await this.#l2Fill(l2, key, value, observed, readAt);
      });
    } finally {
      this.#reloads.delete(state);
    }
  }

  /** Resolves once the L2 fills started so far (by gets, in the background) have settled. */
  async flushWrites(): Promise<void> {
    while (this.#backgroundWrites.size > 0) await Promise.all([...this.#backgroundWrites]);
  }

  #track(write: Promise<void>): void {
    this.#backgroundWrites.add(write);
    void write.finally(() => this.#backgroundWrites.delete(write));
  }

  /** Starts a flight for `key`; after `previous` settles when given (a sealed flight). */
  #startFlight(key: string, previous: Flight<T> | undefined): Flight<T> {
    const flight: Flight<T> = {
      promise: Promise.resolve(undefined),
      stale: false,
      waiters: 0,
      sealed: false,
      previous,
    };
    this.#flights.set(key, flight);
    flight.promise = previous === undefined ? this.#fly(key, flight) : this.#flyAfter(key, flight, previous);
    return flight;
  }

  async #flyAfter(key: string, flight: Flight<T>, previous: Flight<T>): Promise<T | undefined> {
    try {
      await previous.promise;
    } catch {
      // Its callers see its error; this flight reads (and loads) on its own.
    }
    flight.previous = undefined;
    return this.#fly(key, flight);
  }

  async #fly(key: string, flight: Flight<T>): Promise<T | undefined> {
    let fromL2 = false;
    try {
      const l2 = this.#l2;
      let observed: Observed | undefined;
      const readAt = performance.now();
      if (l2 !== undefined) {
        // From here on a get must not join: this read may be answered before a write finished
        // elsewhere that the get has already seen the end of.
        if (this.#l1Bypassed) flight.sealed = true;
        const read = await this.#l2Read(l2, key);
        if (read.value !== undefined) {
          fromL2 = true;
          if (!flight.stale) this.#l1Put(key, read.value);
          return read.value;
        }
        observed = read.observed;
      }
      this.#metrics.load();
      const value = await this.#load(key);
      if (value !== undefined && !flight.stale) {
        this.#l1Put(key, value);
        // Conditional on what the L2 read saw: refused when any process invalidated the key
        // since (its tombstone replaced what was seen). Not attempted when the read could not
        // tell what the key held.
        if (l2 !== undefined && observed !== undefined) {
          this.#track(this.#l2Fill(l2, key, value, observed, readAt));
        }
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
      markStale(flight);
      this.#flights.delete(key);
    }
    for (const reload of this.#reloads) reload.touched.add(key);
  }

  #l1Put(key: string, value: T): void {
    // Read through L2: L1 never answers, so holding values there is work and memory for nothing.
    if (this.#l1Bypassed) return;
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

  async #l2Read(
    l2: SecondLevelStore,
    key: string,
  ): Promise<{ value: T | undefined; observed: Observed | undefined }> {
    let text: string | undefined;
    let observed: Observed | undefined;
    try {
      ({ value: text, observed } = await l2.read(this.#l2Key(key), this.#tombstoneTtlMs));
    } catch (error) {
      this.#l2Failed("get", key, error);
      return { value: undefined, observed: undefined };
    }
    if (text === undefined) return { value: undefined, observed };
    try {
      return { value: this.#codec.decode(text), observed };
    } catch (error) {
      // An unreadable entry (e.g. written by an older version) is a miss; the load's fill
      // replaces it (it is what the read observed).
      this.#l2Failed("decode", key, error);
      return { value: undefined, observed };
    }
  }

  /**
   * Writes `value` back to L2 if the key still holds `observed` (what the L2 read issued at
   * `readAt` saw). Not sent once that token may have expired: it would be refused.
   */
  async #l2Fill(
    l2: SecondLevelStore,
    key: string,
    value: T,
    observed: Observed,
    readAt: number,
  ): Promise<void> {
    if (performance.now() - readAt >= this.#tombstoneTtlMs) {
      this.#logger?.debug({ cache: this.name, key }, "cache L2 fill dropped: its token may have expired");
      return;
    }
    const text = this.#encode(key, value);
    if (text === undefined) return;
    try {
      await l2.fill(this.#l2Key(key), text, observed, this.#l2TtlMs);
    } catch (error) {
      this.#l2Failed("fill", key, error);
    }
  }

  #encode(key: string, value: T): string | undefined {
    try {
      return this.#codec.encode(value);
    } catch (error) {
      this.#l2Failed("encode", key, error);
      return undefined;
    }
  }

  /**
   * Brings one reloaded entry's L2 key in line (see reloadAll); answers the key when it held a
   * token, to be filled from the second read.
   */
  async #reloadCheck(
    l2: SecondLevelStore,
    key: string,
    value: T,
    state: ReloadState,
  ): Promise<RefillCandidate | undefined> {
    // Checked right before the read is issued: a key touched since is left to its writer.
    if (state.aborted || state.touched.has(key)) return undefined;
    const text = this.#encode(key, value);
    if (text === undefined) return undefined;
    const readAt = performance.now();
    let read: SecondLevelRead;
    try {
      read = await l2.read(this.#l2Key(key), this.#tombstoneTtlMs);
    } catch (error) {
      this.#l2Failed("get", key, error);
      return undefined;
    }
    // Written here meanwhile (its writer decides), or the store could not tell what it holds.
    if (state.aborted || state.touched.has(key) || read.observed === undefined) return undefined;
    if (read.value === undefined) return { key, observed: read.observed, readAt };
    if (read.value !== text) await this.#l2Invalidate(l2, key);
    return undefined;
  }

  async #l2Set(l2: SecondLevelStore, key: string, text: string): Promise<void> {
    try {
      await l2.set(this.#l2Key(key), text, this.#l2TtlMs);
    } catch (error) {
      this.#l2Failed("set", key, error);
    }
  }

  async #l2Invalidate(l2: SecondLevelStore, key: string): Promise<void> {
    try {
      await l2.invalidate(this.#l2Key(key), this.#tombstoneTtlMs);
    } catch (error) {
      this.#l2Failed("invalidate", key, error);
    }
  }

  /** Runs `task` on every item, RELOAD_L2_CONCURRENCY at a time, until the reload is aborted. */
  async #concurrently<I>(
    items: readonly I[],
    state: ReloadState,
    task: (item: I) => Promise<void>,
  ): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length && !state.aborted) {
        const item = items[next++] as I;
        await task(item);
      }
    };
    const workers: Promise<void>[] = [];
    for (let i = 0; i < Math.min(RELOAD_L2_CONCURRENCY, items.length); i++) workers.push(worker());
    await Promise.all(workers);
  }

  #l2Failed(op: string, key: string, error: unknown): void {
    this.#metrics.l2Error();
    this.#warn({ cache: this.name, op, key, err: errorMessage(error) }, "cache L2 operation failed");
    this.#logger?.debug({ cache: this.name, op, key, err: error }, "cache L2 operation failed");
  }
}

/** Keeps a flight (and the sealed flight it waits for) from filling anything. */
function markStale<T>(flight: Flight<T>): void {
  flight.stale = true;
  if (flight.previous !== undefined) flight.previous.stale = true;
}

const instrumentsFor = perRegistry((registry): Instruments => {
  const flushers = new Set<() => void>();
  const counter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ["cache"], registers: [registry] });
  return {
    flushers,
    hits: new Counter({
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
    misses: counter("cache_misses_total", "Cache reads answered by neither layer."),
    loads: counter("cache_loads_total", "Loads from the source of truth."),
    l2Errors: counter(
      "cache_l2_errors_total",
      "Second-layer operations that failed (treated as a miss / no-op).",
    ),
  };
});

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
