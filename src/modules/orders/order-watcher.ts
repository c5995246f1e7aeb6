/**
 * One admin's live view of order events (order-watch.ts fans them out): a queue of the events not
 * yet sent, bounded so that a watcher who reads too slowly costs a fixed amount of memory. One
 * event too many ends the watch with resource_exhausted; the client reconnects and reads the
 * orders again, which is cheaper for everyone than a backlog nobody will read in time.
 */
import { Code } from "@connectrpc/connect";
import { businessError } from "../../platform/rpc/index.js";
import type { OrderEvent } from "./order-events.js";

export class OrderWatcher implements AsyncIterable<OrderEvent> {
  private readonly queue: OrderEvent[] = [];
  /** Set once the watch is over: `error` is what the reader gets after it, if anything. */
  private ended: { error?: Error } | undefined;
  /** Resolves the reader's wait for the next event, when it waits. */
  private wake: (() => void) | undefined;
  /** Removes the abort listener of `endOn`, so a long-lived signal does not keep ended watchers. */
  private forgetSignal: (() => void) | undefined;

  constructor(
    /** Events the watcher may have waiting; one more ends the watch. */
    private readonly queueLimit: number,
    /** Called once, when the watch ends for whatever reason. */
    private readonly onEnd: (watcher: OrderWatcher) => void,
  ) {}

  get isEnded(): boolean {
    return this.ended !== undefined;
  }

  /** Queues an event for the reader; a watcher with a full queue is ended instead. */
  push(event: OrderEvent): void {
    if (this.ended !== undefined) return;
    if (this.queue.length >= this.queueLimit) {
      this.end(
        businessError(
          Code.ResourceExhausted,
          "WATCH_FELL_BEHIND",
          `this watch fell more than ${this.queueLimit} events behind; watch again and read the orders anew`,
        ),
      );
      return;
    }
    this.queue.push(event);
    this.wakeReader();
  }

  /**
   * Ends the watch: the reader's iteration finishes (or throws `error`) without the events still
   * queued, which nobody needs once the watch is over.
   */
  end(error?: Error): void {
    if (this.ended !== undefined) return;
    this.ended = { error };
    this.queue.length = 0;
    this.forgetSignal?.();
    this.wakeReader();
    this.onEnd(this);
  }

  /** Ends the watch when `signal` aborts (the caller went away, or its deadline passed). */
  endOn(signal: AbortSignal): void {
    if (signal.aborted) {
      this.end();
      return;
    }
    const onAbort = () => this.end();
    signal.addEventListener("abort", onAbort, { once: true });
    this.forgetSignal = () => signal.removeEventListener("abort", onAbort);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<OrderEvent> {
    try {
      for (;;) {
        const event = this.queue.shift();
        if (event !== undefined) {
          yield event;
          continue;
        }
        if (this.ended !== undefined) {
          if (this.ended.error !== undefined) throw this.ended.error;
          return;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      // The reader stopped reading (it returned or threw): nothing more is queued for it.
      this.end();
    }
  }

  private wakeReader(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
