/**
 * The stock events whose product this process invalidates itself, right after the write that
 * committed them: the writer's `LayeredCache.invalidate` drops L1, tombstones L2 and tells every
 * peer before the call answers. When the durable group `product-cache-l2` hands such an event to
 * this same process, its repair would write a second tombstone and send a second forget for
 * nothing, so it waits for the writer's invalidation instead and repairs only if that could not
 * tombstone L2 (Redis did not take it: the store replays it, but only while this process lives).
 * docs/cache-protocol.md, "(c) Product events reach every process".
 *
 * Ids the group never hands to this process (another member took the event) are dropped oldest
 * first beyond `max`; a dropped or unknown id just means the repair is made, as before.
 */
export class InvalidatedHere {
  readonly #max: number;
  /** Event id → the writer's invalidation of its products (true: L2 took every tombstone). */
  readonly #invalidations = new Map<string, Promise<boolean>>();

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** Records the invalidation this process runs for the products of event `eventId`. */
  track(eventId: string, invalidation: Promise<boolean>): void {
    this.#invalidations.set(eventId, invalidation);
    if (this.#invalidations.size > this.#max) {
      const oldest = this.#invalidations.keys().next().value as string;
      this.#invalidations.delete(oldest);
    }
  }

  /**
   * Whether the products of event `eventId` were invalidated here, L2 included (waiting for an
   * invalidation still running). Answers once per id: a redelivered event is repaired.
   */
  async take(eventId: string): Promise<boolean> {
    const invalidation = this.#invalidations.get(eventId);
    if (invalidation === undefined) return false;
    this.#invalidations.delete(eventId);
    return invalidation;
  }
}
