/**
 * The destination of the process's log lines: lines are copied, as they come, into one buffer of
 * 64 KiB, which is handed to stdout's writer (pino's sonic-boom in buffer mode, asynchronous) once
 * the next line would not fit or 100 ms after its first line, whichever comes first. When the
 * process exits, what stdout's writer holds is written synchronously, then what is pending here
 * (an asynchronous write already under way at that moment can still be cut short: the limit of
 * any asynchronous logger).
 *
 * Why: with an access-log line per request, writing each line as it came cost ~2.6 µs of CPU per
 * request (sonic-boom measures the byte length of its pending buffer on every write, and each
 * write(2) goes through libuv's thread pool), about 10 % of a cached product read; a write per
 * turn of the event loop still cost ~2.9 µs. Lines kept as strings until a batch was full (an
 * array joined every 16 KiB) still cost ~3.6 µs per request: each pending line is a tree of
 * string pieces the garbage collector copies while it waits, and the batch was flattened, then
 * encoded again by the writer. Copied into a buffer at once, a line leaves nothing behind, and
 * one write per 64 KiB is shared by some 350 requests, access-log lines being ~190 bytes
 * (BENCHMARKS.md, "Request logs, metrics and tracing", and "A lighter request path").
 */
import { writeSync } from "node:fs";
import type { DestinationStream } from "pino";

/** What this needs of its target: sonic-boom's write (in buffer mode), flush and flushSync. */
export interface LineWriter {
  write(chunk: Buffer): unknown;
  flush?(callback: (error?: Error | null) => void): void;
  flushSync(): void;
}

/** The size of a batch: a line that would not fit in what is left of it starts the next one. */
export const BATCH_BYTES = 64 * 1024;
/** The longest a line waits. */
const BATCH_DELAY_MS = 100;

export class BatchedLogLines implements DestinationStream {
  private batch = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;
  private timer: NodeJS.Timeout | undefined;

  /** `fd`: the file descriptor `target` writes to, written to directly when the process exits. */
  constructor(
    private readonly target: LineWriter,
    fd: number,
  ) {
    process.once("exit", () => {
      try {
        this.target.flushSync();
        const chunk = this.take();
        if (chunk !== undefined) writeSync(fd, chunk);
      } catch {
        // Nothing is left to tell: stdout is gone.
      }
    });
  }

  write(line: string): void {
    const room = BATCH_BYTES - this.used;
    // At most three bytes per UTF-16 unit: the exact length is measured only near the end.
    const bytes = line.length * 3 > room ? Buffer.byteLength(line) : 0;
    if (bytes > room) {
      this.flush();
      if (bytes > BATCH_BYTES) {
        // Larger than a batch: a batch of its own.
        this.target.write(Buffer.from(line));
        return;
      }
    }
    this.used += this.batch.write(line, this.used);
    if (this.timer === undefined) {
      this.timer = setTimeout(this.flush, BATCH_DELAY_MS);
      // Pending lines never keep the process alive: the exit handler writes them.
      this.timer.unref();
    }
  }

  /**
   * Hands every pending line to the target, as one buffer; `callback` (pino's `logger.flush(cb)`)
   * is called once the target has written everything it holds.
   */
  readonly flush = (callback?: (error?: Error | null) => void): void => {
    const chunk = this.take();
    if (chunk !== undefined) this.target.write(chunk);
    if (typeof callback !== "function") return;
    if (this.target.flush === undefined) callback();
    else this.target.flush(callback);
  };

  /** The pending lines (undefined when none), no longer pending: the target keeps the buffer. */
  private take(): Buffer | undefined {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.used === 0) return undefined;
    const chunk = this.batch.subarray(0, this.used);
    this.batch = Buffer.allocUnsafe(BATCH_BYTES);
    this.used = 0;
    return chunk;
  }
}
