/**
 * Test support for the cache's suites (not a test file itself): an `Item` and its JSON codec,
 * sources of truth and an L2 whose operations wait for the test, and small timing helpers. What
 * the suites prove: docs/cache-protocol.md, "Where it is proven".
 */
import { vi } from "vitest";
import { type CachePeers, ForgetListeners } from "../../src/platform/cache/cache-peers.js";
import { LayeredCache, type LayeredCacheOptions } from "../../src/platform/cache/layered-cache.js";
import {
  MemorySecondLevelStore,
  type Observed,
  type SecondLevelRead,
  type SecondLevelStore,
} from "../../src/platform/cache/second-level-store.js";

export interface Item {
  id: string;
  version: number;
}

export const codec = {
  encode: (item: Item) => JSON.stringify(item),
  decode: (text: string) => JSON.parse(text) as Item,
};

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run. */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A source of truth whose rows can change, counting loads. */
export function source() {
  const rows = new Map<string, Item>();
  const load = vi.fn(async (key: string): Promise<Item | undefined> => rows.get(key));
  return { rows, load };
}

/** A cache of items named "items" (its L2 keys are "items:<key>"), bounded at 100 entries. */
export function cache(options: Partial<LayeredCacheOptions<Item>> & Pick<LayeredCacheOptions<Item>, "load">) {
  return new LayeredCache<Item>({ name: "items", maxEntries: 100, codec, ...options });
}

/** A store whose operations wait for the test to release them. */
export class GatedStore implements SecondLevelStore {
  readonly inner = new MemorySecondLevelStore();
  getGate: Deferred<void> | undefined;
  invalidateGate: Deferred<void> | undefined;

  async get(key: string): Promise<string | undefined> {
    return this.inner.get(key);
  }
  async read(key: string, markerTtlMs: number): Promise<SecondLevelRead> {
    // Reads what the entry was when the read was issued, answers when released.
    const read = await this.inner.read(key, markerTtlMs);
    await this.getGate?.promise;
    return read;
  }
  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.inner.set(key, value, ttlMs);
  }
  async fill(key: string, value: string, observed: Observed, ttlMs?: number): Promise<boolean> {
    return this.inner.fill(key, value, observed, ttlMs);
  }
  async invalidate(key: string, tombstoneTtlMs: number): Promise<boolean> {
    await this.invalidateGate?.promise;
    return this.inner.invalidate(key, tombstoneTtlMs);
  }
  async delete(key: string): Promise<void> {
    await this.inner.delete(key);
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

/** A source whose loads each wait for the test: `next()` answers the oldest pending load. */
export function gatedSource() {
  const rows = new Map<string, Item>();
  const pending: Array<{ key: string; gate: Deferred<void> }> = [];
  const load = vi.fn(async (key: string): Promise<Item | undefined> => {
    // The row is read when the load starts (the old row, if a write commits meanwhile).
    const row = rows.get(key);
    const gate = deferred<void>();
    pending.push({ key, gate });
    await gate.promise;
    return row;
  });
  const next = () => pending.shift()?.gate.resolve();
  return { rows, load, next, pending };
}

/** Two "processes": their own LayeredCache (L1, flights) over one shared L2 and one gated source. */
export function replicas(options: Partial<LayeredCacheOptions<Item>> = {}) {
  const source = gatedSource();
  const l2 = new MemorySecondLevelStore();
  const make = () => cache({ load: source.load, l2, readThroughL2: true, ...options });
  return { ...source, l2, a: make(), b: make() };
}

/** A catalog whose first read is held by the test (it reads the rows as they were then). */
export function heldCatalog(rows: Map<string, Item>) {
  const first = deferred<void>();
  const reads: Array<"held" | "fresh"> = [];
  const loadAll = async (): Promise<Array<[string, Item]>> => {
    const snapshot = [...rows.entries()];
    if (reads.push(reads.length === 0 ? "held" : "fresh") === 1) await first.promise;
    return snapshot;
  };
  return { loadAll, release: () => first.resolve(), reads };
}

/**
 * Processes' CachePeers in memory: a forget reaches every listener at once (as if every process
 * acknowledged); the test says which processes are in sync and can hold forgets back.
 */
export class MemoryPeerNetwork {
  readonly #listeners = new ForgetListeners();
  /** While set, forgets have reached every listener but do not resolve until it is released. */
  forgetGate: Deferred<void> | undefined;
  /** Every forget published, in order. */
  readonly published: Array<{ name: string; keys: readonly string[] }> = [];

  peer(): CachePeers & { synced: boolean; lapse(): void } {
    const network = this;
    /** This process's listeners. */
    const own = new ForgetListeners();
    return {
      spansProcesses: true,
      synced: true,
      inSync() {
        return this.synced;
      },
      async forget(name, keys) {
        network.published.push({ name, keys });
        network.#listeners.tell(name, keys);
        await network.forgetGate?.promise;
      },
      forgetHere(name, keys) {
        own.tell(name, keys);
      },
      listen(name, listener) {
        const stopHere = own.add(name, listener);
        const stopEverywhere = network.#listeners.add(name, listener);
        return () => {
          stopHere();
          stopEverywhere();
        };
      },
      /** The lease ran out and came back: this process's listeners are told to drop everything. */
      lapse() {
        own.tellAllToDropEverything();
      },
    };
  }
}
