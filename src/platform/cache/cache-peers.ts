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
   * Listens to the forgets of cache `name`, from every process, in the order they were
   * published; `undefined` after this process may have missed some (it drops everything).
   * Returns the function that stops listening.
   */
  listen(name: string, listener: ForgetListener): () => void;
}
