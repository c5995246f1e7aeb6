/**
 * The destination of the process's log lines: lines are collected and handed to stdout's writer
 * (pino's sonic-boom, asynchronous) as one string once 16 KiB have gathered or 100 ms after the
 * first, whichever comes first. When the process exits, what stdout's writer holds is written
 * synchronously, then what is pending here (an asynchronous write already under way at that
 * moment can still be cut short: the limit of any asynchronous logger).
 *
 * Why: with an access-log line per request, writing each line as it came cost ~2.6 µs of CPU per
 * request (sonic-boom measures the byte length of its pending buffer on every write, and each
 * write(2) goes through libuv's thread pool), about 10 % of a cached product read; a write per
 * turn of the event loop still cost ~2.9 µs. A push onto an array costs almost nothing, and one
 * write per 16 KiB is shared by a hundred requests (BENCHMARKS.md, "Request logs, metrics and
 * tracing").
 */
import { writeSync } from "node:fs";
import type { DestinationStream } from "pino";

/** What this needs of its target: sonic-boom's write, flush and flushSync. */
export interface LineWriter {
  write(text: string): unknown;
  flush?(callback: (error?: Error | null) => void): void;
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

  /** `fd`: the file descriptor `target` writes to, written to directly when the process exits. */
  constructor(
    private readonly target: LineWriter,
    fd: number,
  ) {
    process.once("exit", () => {
      try {
        this.target.flushSync();
        const text = this.take();
        if (text !== undefined) writeSync(fd, text);
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

  /**
   * Hands every pending line to the target, as one string; `callback` (pino's `logger.flush(cb)`)
   * is called once the target has written everything it holds.
   */
  readonly flush = (callback?: (error?: Error | null) => void): void => {
    const text = this.take();
    if (text !== undefined) this.target.write(text);
    if (typeof callback !== "function") return;
    if (this.target.flush === undefined) callback();
    else this.target.flush(callback);
  };

  /** The pending lines as one string (undefined when none), no longer pending. */
  private take(): string | undefined {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pendingCharacters = 0;
    if (this.pending.length === 0) return undefined;
    const text = this.pending.length === 1 ? (this.pending[0] as string) : this.pending.join("");
    this.pending = [];
    return text;
  }
}
