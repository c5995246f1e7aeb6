/**
 * Deadlines that share timers. Every gateway call carries RPC_TIMEOUT_MS, and a timer per call
 * (with the guarded path's racing) more than doubled an in-process call: 2.0 → 4.7 µs
 * (`npx tsx bench/transport-bench.ts`; BENCHMARKS.md, "Limits on the hot paths"). Deadlines are
 * grouped into slots of `slackMs`, one timer per slot, so a deadline fires at most `slackMs` late,
 * which for a deadline of seconds is well inside its precision. A slot links its calls in a list
 * through the calls themselves: a call that ends unlinks itself at once (no hashing, and nothing
 * keeps a finished call alive until its slot is due, which would cost more in garbage collection).
 */

/**
 * A call with a deadline in the wheel. The links of its slot's list live here, so joining a slot
 * allocates nothing.
 */
export abstract class Expiring {
  /** @internal The slot's list. */
  prev: Expiring | undefined;
  /** @internal The slot's list. */
  next: Expiring | undefined;
  /** @internal The slot this entry waits in, until it expires or is cancelled. */
  slot: DeadlineSlot | undefined;

  abstract expire(): void;

  /** The call ended in time: its deadline no longer fires. */
  cancelDeadline(): void {
    this.slot?.remove(this);
  }
}

export class DeadlineWheel {
  private readonly slots = new Map<number, DeadlineSlot>();
  /** The slot the last deadline went into: consecutive calls with one timeout mostly share it. */
  private recent: DeadlineSlot | undefined;

  constructor(private readonly slackMs: number) {}

  /** Expires `entry` `delayMs` to `delayMs + slackMs` from now, unless it cancels its deadline. */
  schedule(delayMs: number, entry: Expiring): void {
    const index = Math.ceil((Date.now() + delayMs) / this.slackMs);
    let slot = this.recent?.index === index ? this.recent : this.slots.get(index);
    if (slot === undefined) {
      const opened = new DeadlineSlot(index);
      this.slots.set(index, opened);
      setTimeout(
        () => {
          this.slots.delete(index);
          if (this.recent === opened) this.recent = undefined;
          opened.expireAll();
        },
        index * this.slackMs - Date.now(),
      ).unref();
      slot = opened;
    }
    this.recent = slot;
    slot.append(entry);
  }
}

/** The deadlines due in one slot of the wheel, as a list linked through the entries. */
export class DeadlineSlot {
  private head: Expiring | undefined;
  private tail: Expiring | undefined;

  constructor(readonly index: number) {}

  append(entry: Expiring): void {
    entry.slot = this;
    entry.prev = this.tail;
    entry.next = undefined;
    if (this.tail === undefined) this.head = entry;
    else this.tail.next = entry;
    this.tail = entry;
  }

  remove(entry: Expiring): void {
    if (entry.prev === undefined) this.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) this.tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = entry.slot = undefined;
  }

  expireAll(): void {
    let entry = this.head;
    this.head = this.tail = undefined;
    while (entry !== undefined) {
      const next = entry.next;
      entry.prev = entry.next = entry.slot = undefined;
      entry.expire();
      entry = next;
    }
  }
}
