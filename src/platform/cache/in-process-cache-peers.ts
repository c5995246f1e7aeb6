/**
 * CachePeers for copies that all live in this process: a gateway's edge copy of products beside
 * inventory's own cache, when there is no Redis to carry forgets between processes. A forget
 * reaches every listener of the name before `forget` returns, so a write has made every copy here
 * drop the key before it answers; copies in other processes (replicas without Redis) hear of
 * writes through the product events, which reach every copy here through `forgetHere`
 * (docs/cache-protocol.md, "(e) L1 under a freshness lease").
 */
import { type CachePeers, type ForgetListener, ForgetListeners } from "./cache-peers.js";

export class InProcessCachePeers implements CachePeers {
  readonly spansProcesses = false;
  readonly #listeners = new ForgetListeners();

  /** Nothing here can be missed: every copy hears every forget at once. */
  inSync(): boolean {
    return true;
  }

  forget(name: string, keys: readonly string[]): Promise<void> {
    this.forgetHere(name, keys);
    return Promise.resolve();
  }

  forgetHere(name: string, keys: readonly string[] | undefined): void {
    if (keys === undefined || keys.length > 0) this.#listeners.tell(name, keys);
  }

  listen(name: string, listener: ForgetListener): () => void {
    return this.#listeners.add(name, listener);
  }
}
