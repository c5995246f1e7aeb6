/**
 * One run of LayeredCache's scheduled full reload (reloadAll / replaceAll): replaces L1 with the
 * entries and brings L2 in line with them, never writing a reloaded value over anything. The
 * cache tells a run of every key written while it runs (`touch`) and of `clear()` (`abort`).
 * What it does per key, and why that cannot resurrect an old value: LayeredCache.reloadAll and
 * docs/cache-protocol.md, "The scheduled full reload".
 */
import type { LayeredCacheL2 } from "./layered-cache-l2.js";
import type { LruMap } from "./lru-map.js";
import type { Observed } from "./second-level-store.js";

/** The source of every full reload: all entries that should be cached now. */
export type LoadAll<T> = () => Promise<Iterable<readonly [string, T]>>;

/** The layers a reload brings in line. */
export interface ReloadTarget<T> {
  /** L1's bound. */
  maxEntries: number;
  /** Undefined when L1 is bypassed (readThroughL2). */
  l1: LruMap<T> | undefined;
  l2: LayeredCacheL2<T> | undefined;
}

/** How many L2 operations a full reload keeps in flight at once. */
const RELOAD_L2_CONCURRENCY = 64;

/** A key the reload found holding a token in L2: filled from the second read of the entries. */
interface RefillCandidate {
  key: string;
  observed: Observed;
  /** performance.now() when its L2 read was issued. */
  readAt: number;
}

export class FullReload<T> {
  readonly #target: ReloadTarget<T>;
  /** Keys invalidated, set or forgotten since the reload started: it must not write them. */
  readonly #touched = new Set<string>();
  /** Raised by clear(): the reload installs nothing more. */
  #aborted = false;
  /**
   * Keys whose L2 entry held something other than the reloaded value (tombstoned) or a token
   * (filled again): copies held elsewhere (a split gateway's) may be as old, and must be dropped.
   * Without an L2 it stays empty: nothing tells which values changed (LayeredCache's reload has
   * the copies drop everything instead).
   */
  readonly replaced: string[] = [];

  constructor(target: ReloadTarget<T>) {
    this.#target = target;
  }

  /** `key` was written since the reload started: it keeps that newer state. */
  touch(key: string): void {
    this.#touched.add(key);
  }

  /** The cache was cleared: the reload installs nothing more. */
  abort(): void {
    this.#aborted = true;
  }

  /** With `refill`, keys holding a token in L2 are filled from a second call of `loadAll`. */
  async run(loadAll: LoadAll<T>, refill: boolean): Promise<void> {
    const entries = await loadAll();
    if (this.#aborted) return;
    const forL2 = this.#replaceL1(entries);
    const l2 = this.#target.l2;
    if (l2 === undefined) return;
    const candidates: RefillCandidate[] = [];
    await this.#concurrently([...forL2], async ([key, value]) => {
      const candidate = await this.#check(l2, key, value);
      if (candidate !== undefined) candidates.push(candidate);
    });
    if (!refill || candidates.length === 0 || this.#aborted) return;
    await this.#refill(l2, loadAll, candidates);
  }

  /** Replaces L1 with the entries (up to its bound); answers the entries to check in L2. */
  #replaceL1(entries: Iterable<readonly [string, T]>): Map<string, T> {
    const { maxEntries, l1, l2 } = this.#target;
    const fresh = new Map<string, T>();
    const forL2 = new Map<string, T>();
    for (const [key, value] of entries) {
      if (value === undefined || this.#touched.has(key)) continue;
      if (fresh.size < maxEntries || fresh.has(key)) fresh.set(key, value);
      if (l2 !== undefined) forL2.set(key, value);
    }
    if (l1 === undefined) return forL2;
    // Keys written since the reload started keep what L1 holds for them now.
    for (const key of this.#touched) {
      const current = l1.peek(key);
      if (current !== undefined && fresh.size < maxEntries) fresh.set(key, current);
    }
    l1.replaceAll(fresh);
    return forL2;
  }

  /**
   * Brings one reloaded entry's L2 key in line: the same value is left, a different one
   * tombstoned; answers the key when it held a token, to be filled from the second read.
   */
  async #check(l2: LayeredCacheL2<T>, key: string, value: T): Promise<RefillCandidate | undefined> {
    // Checked right before the read is issued: a key touched since is left to its writer.
    if (this.#aborted || this.#touched.has(key)) return undefined;
    const text = l2.encode(key, value);
    if (text === undefined) return undefined;
    const readAt = performance.now();
    const read = await l2.read(key);
    if (read === undefined) return undefined;
    // Written here meanwhile (its writer decides), or the store could not tell what it holds.
    if (this.#aborted || this.#touched.has(key) || read.observed === undefined) return undefined;
    if (read.value === undefined) {
      this.replaced.push(key);
      return { key, observed: read.observed, readAt };
    }
    if (read.value !== text) {
      this.replaced.push(key);
      await l2.invalidate(key);
    }
    return undefined;
  }

  async #refill(l2: LayeredCacheL2<T>, loadAll: LoadAll<T>, candidates: RefillCandidate[]): Promise<void> {
    // Read after every token was observed: a write whose invalidation was executed after the
    // observation cannot be filled over (the token is gone); any other write is in this read.
    const again = new Map<string, T>();
    for (const [key, value] of await loadAll()) if (value !== undefined) again.set(key, value);
    await this.#concurrently(candidates, async ({ key, observed, readAt }) => {
      const value = again.get(key);
      // Gone from the source (not cached), or written here since (its writer decides).
      if (value === undefined || this.#touched.has(key)) return;
      await l2.fill(key, value, observed, readAt);
    });
  }

  /** Runs `task` on every item, RELOAD_L2_CONCURRENCY at a time, until the reload is aborted. */
  async #concurrently<I>(items: readonly I[], task: (item: I) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length && !this.#aborted) {
        const item = items[next++] as I;
        await task(item);
      }
    };
    const workers: Promise<void>[] = [];
    for (let i = 0; i < Math.min(RELOAD_L2_CONCURRENCY, items.length); i++) workers.push(worker());
    await Promise.all(workers);
  }
}
