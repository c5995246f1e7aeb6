/**
 * The processes that keep copies of the same cache keys in memory (replicas of inventory, a split
 * gateway's edge cache), as a LayeredCache sees them: whether its own copies may answer now, and
 * a way to make every process drop a key before a write answers. With it, L1 answers reads in
 * every process and a write made through any of them is still never followed by an old value
 * (docs/cache-protocol.md, "(e) L1 under a freshness lease").
 */

/** Called with the keys every process must drop, or with undefined: drop everything. */
export type ForgetListener = (keys: readonly string[] | undefined) => void;

export interface CachePeers {
  /**
   * Whether the copies live in several processes (over Redis), or only in this one (a gateway's
   * edge copy beside inventory's cache: in-process-cache-peers.ts). Only copies in other processes
   * need sealed flights, and only they spare inventory its own subscription to product events.
   */
  readonly spansProcesses: boolean;
  /**
   * Whether this process's L1 may answer now: every forget published by any process up to a
   * moment less than the lease ago has reached this process's listeners.
   */
  inSync(): boolean;
  /**
   * Makes every process drop `keys` of cache `name` (this one too, through its listeners).
   * Resolves once each process that could answer from its L1 has dropped them, or can no longer
   * answer from its L1 until it has; never rejects.
   */
  forget(name: string, keys: readonly string[]): Promise<void>;
  /**
   * Makes every copy of cache `name` in this process drop `keys` (everything, when undefined)
   * now, telling no other process: for a write made elsewhere that this process learned of by
   * other means (an event), or a full reload that cannot tell which values changed.
   */
  forgetHere(name: string, keys: readonly string[] | undefined): void;
  /**
   * Listens to the forgets of cache `name`, from every process, in the order they were
   * published; `undefined` after this process may have missed some (it drops everything).
   * Returns the function that stops listening.
   */
  listen(name: string, listener: ForgetListener): () => void;
}

/** The listeners of one process, by cache name: what every CachePeers keeps. */
export class ForgetListeners {
  readonly #byName = new Map<string, Set<ForgetListener>>();

  add(name: string, listener: ForgetListener): () => void {
    let listeners = this.#byName.get(name);
    if (listeners === undefined) {
      listeners = new Set();
      this.#byName.set(name, listeners);
    }
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Tells every listener of `name` to drop `keys` (everything, when undefined). */
  tell(name: string, keys: readonly string[] | undefined): void {
    const listeners = this.#byName.get(name);
    if (listeners === undefined) return;
    for (const listener of listeners) listener(keys);
  }

  /** Tells every listener of every name to drop everything. */
  tellAllToDropEverything(): void {
    for (const listeners of this.#byName.values()) for (const listener of listeners) listener(undefined);
  }
}
