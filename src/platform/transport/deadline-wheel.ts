/**
 * Deadlines that share timers. Every gateway call carries RPC_TIMEOUT_MS, and a timer per call
 * (with the guarded path's racing) more than doubled an in-process call: 2.0 → 4.7 µs, against
 * 2.8 µs with this wheel (`npx tsx bench/transport-bench.ts`; BENCHMARKS.md, "Limits on the hot
 * paths"). Deadlines are grouped into slots of `slackMs`: one timer per slot, so a deadline fires
 * at most `slackMs` late, which for a deadline of seconds is well inside its precision.
 */
export class DeadlineWheel {
  private readonly slots = new Map<number, DeadlineSlot>();
  /** The slot the last deadline went into: consecutive calls with one timeout mostly share it. */
  private recent: DeadlineSlot | undefined;

  constructor(private readonly slackMs: number) {}

  /** Expires `entry` once, `delayMs` to `delayMs + slackMs` from now, unless cancelled on the slot returned. */
  schedule(delayMs: number, entry: Expiring): DeadlineSlot {
    const index = Math.ceil((Date.now() + delayMs) / this.slackMs);
    let slot = this.recent?.index === index ? this.recent : this.slots.get(index);
    if (slot === undefined) {
      slot = new DeadlineSlot(index);
      this.slots.set(index, slot);
      const due = slot;
      setTimeout(
        () => {
          this.slots.delete(index);
          if (this.recent === due) this.recent = undefined;
          due.expire();
        },
        index * this.slackMs - Date.now(),
      ).unref();
    }
    this.recent = slot;
    slot.add(entry);
    return slot;
  }
}

/** What a deadline ends. */
export interface Expiring {
  expire(): void;
}

/** The deadlines due in one slot of the wheel. */
export class DeadlineSlot {
  private readonly pending = new Set<Expiring>();

  constructor(readonly index: number) {}

  add(entry: Expiring): void {
    this.pending.add(entry);
  }

  /** The call finished in time: its deadline no longer fires. */
  cancel(entry: Expiring): void {
    this.pending.delete(entry);
  }

  expire(): void {
    for (const entry of this.pending) entry.expire();
    this.pending.clear();
  }
}
