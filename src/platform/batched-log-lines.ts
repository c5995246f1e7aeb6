/**
 * The destination of the process's log lines: lines are collected and handed to stdout's writer
 * (pino's sonic-boom, asynchronous) as one string once 16 KiB have gathered or 100 ms after the
 * first, whichever comes first; what is pending when the process exits is written synchronously.
 *
 * Why: with an access-log line per request, writing each line as it came cost ~2.6 µs of CPU per
 * request (sonic-boom measures the byte length of its pending buffer on every write, and each
 * write(2) goes through libuv's thread pool), about 10 % of a cached product read; a write per
 * turn of the event loop still cost ~2.9 µs. A push onto an array costs almost nothing, and one
 * write per 16 KiB is shared by a hundred requests (BENCHMARKS.md, "Request logs").
 */
import type { DestinationStream } from "pino";

/** What this needs of its target: sonic-boom's write and flushSync. */
export interface LineWriter {
  write(text: string): unknown;
  flushSync(): void;
}

/** Pending characters that trigger a write (lines are ASCII but for rare escapes: ~bytes). */
const BATCH_CHARACTERS = 16 * 1024;
/** The longest a line waits. */
const BATCH_DELAY_MS = 100;

export class BatchedLogLines implements DestinationStream {
  private pending: string[] = [];
  private pendingCharacters = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly target: LineWriter) {
    process.once("exit", () => {
      this.flush();
      try {
        this.target.flushSync();
      } catch {
        // Nothing is left to tell: stdout is gone.
      }
    });
  }

  write(line: string): void {
    this.pending.push(line);
    this.pendingCharacters += line.length;
    if (this.pendingCharacters >= BATCH_CHARACTERS) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(this.flush, BATCH_DELAY_MS);
      // Pending lines never keep the process alive: the exit handler writes them.
      this.timer.unref();
    }
  }

  /** Hands every pending line to the target, as one string. */
  readonly flush = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pendingCharacters = 0;
    if (this.pending.length === 0) return;
    const text = this.pending.length === 1 ? (this.pending[0] as string) : this.pending.join("");
    this.pending = [];
    this.target.write(text);
  };
}
