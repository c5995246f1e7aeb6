/**
 * RedisStore's record of the invalidations (tombstones, deletes, and sets replayed as deletes)
 * that did not reach Redis, each with the sequence number of the call whose loss it holds, so
 * that a slow earlier call which succeeds later does not cancel a later call's replay; beyond
 * `max` keys, one flag that the whole namespace must be cleared instead.
 * docs/cache-protocol.md, "(d) Redis cannot take an invalidation".
 */

/** What the replay of a lost invalidation writes: a tombstone with this TTL, or a delete. */
export type LostInvalidation = { tombstoneTtlMs: number } | "delete";

/** A key's lost invalidation, and the sequence number of the newest call whose loss it holds. */
export interface LostRecord {
  what: LostInvalidation;
  seq: number;
}

export class LostInvalidations {
  readonly #max: number;
  /** Called once when the records overflow `max` and are dropped for a namespace clear. */
  readonly #onOverflow: (pending: number) => void;
  /**
   * Keys whose invalidation (tombstone), delete or set failed: read as misses, never filled, until
   * a later call (the replay, or a set) succeeds.
   */
  readonly #lost = new Map<string, LostRecord>();
  /** Sequence number of the last invalidate/delete/set call. */
  #calls = 0;
  /** Too many lost invalidations to remember: clear the namespace once Redis answers again. */
  #mustClear = false;

  constructor(max: number, onOverflow: (pending: number) => void) {
    this.#max = max;
    this.#onOverflow = onOverflow;
  }

  /** The sequence number of a new invalidate/delete/set call. */
  nextCall(): number {
    return ++this.#calls;
  }

  /** The key's entry in Redis may be one an invalidation was to replace: do not read or fill it. */
  untrusted(key: string): boolean {
    return this.#mustClear || this.#lost.has(key);
  }

  /** True while something is owed to Redis: a replay or a namespace clear. */
  get pending(): boolean {
    return this.#lost.size > 0 || this.#mustClear;
  }

  get mustClear(): boolean {
    return this.#mustClear;
  }

  /** The namespace was cleared: what was owed before the overflow is done. */
  cleared(): void {
    this.#mustClear = false;
  }

  /**
   * Call `seq` on `key` reached Redis: it covers the losses of calls made before it, not those of
   * calls made after it (skipped at once while it was in flight, or failed behind it).
   */
  succeeded(key: string, seq: number): void {
    const known = this.#lost.get(key);
    if (known !== undefined && known.seq < seq) this.#lost.delete(key);
  }

  /** Call `seq` on `key` did not reach Redis: `what` is to be replayed. */
  remember(key: string, what: LostInvalidation, seq: number): void {
    const known = this.#lost.get(key);
    if (known === undefined && this.#lost.size >= this.#max) {
      if (!this.#mustClear) this.#onOverflow(this.#lost.size);
      this.#mustClear = true;
      this.#lost.clear();
    } else {
      // Always a new record: a replay in progress sees that the key was lost again meanwhile.
      this.#lost.set(key, { what: merged(known?.what, what), seq: Math.max(known?.seq ?? 0, seq) });
    }
  }

  /** The records now, to replay; a record is still owed while `holds(key, record)`. */
  snapshot(): Array<[string, LostRecord]> {
    return [...this.#lost];
  }

  /** False once the key was set, replayed or lost again since `record` was taken. */
  holds(key: string, record: LostRecord): boolean {
    return this.#lost.get(key) === record;
  }

  /** Forgets every record (the store is closing); a namespace clear still owed stays owed. */
  clear(): void {
    this.#lost.clear();
  }
}

/** What to replay for a key whose invalidation `known` was lost when `what` is lost too. */
function merged(known: LostInvalidation | undefined, what: LostInvalidation): LostInvalidation {
  if (known === undefined) return what;
  // A lost tombstone stays a tombstone when a delete is lost after it; the longer one wins.
  if (what === "delete") return known;
  if (known === "delete" || known.tombstoneTtlMs < what.tombstoneTtlMs) return what;
  return known;
}
