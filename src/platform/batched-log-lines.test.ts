import { mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BATCH_BYTES, BatchedLogLines, type LineWriter } from "./batched-log-lines.js";

/** A sonic-boom stand-in that records what it is handed; its fd is a file of its own. */
class FakeTarget implements LineWriter {
  readonly writes: string[] = [];
  flushSyncCalls = 0;
  failFlushSync = false;
  readonly path = join(mkdtempSync(join(tmpdir(), "batched-")), "out");
  readonly fd = openSync(this.path, "w");
  flushCallbacks: ((error?: Error | null) => void)[] = [];
  flush(callback: (error?: Error | null) => void): void {
    this.flushCallbacks.push(callback);
  }
  write(chunk: Buffer): boolean {
    this.writes.push(chunk.toString("utf8"));
    return true;
  }
  flushSync(): void {
    this.flushSyncCalls++;
    if (this.failFlushSync) throw new Error("stdout is gone");
  }
}

/** A line of exactly `length` characters, newline included. */
const lineOf = (label: string, length: number) => `${label.padEnd(length - 1, ".")}\n`;

describe("BatchedLogLines", () => {
  /** The 'exit' listeners the instances registered, captured instead of added to the process. */
  let exitListeners: (() => void)[];

  beforeEach(() => {
    vi.useFakeTimers();
    exitListeners = [];
    vi.spyOn(process, "once").mockImplementation(((event: string, listener: () => void) => {
      if (event === "exit") exitListeners.push(listener);
      return process;
    }) as typeof process.once);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it("writes nothing synchronously, then every line in order as one write 100 ms after the first", () => {
    const target = new FakeTarget();
    const lines = new BatchedLogLines(target, target.fd);
    lines.write('{"n":1}\n');
    lines.write('{"n":2}\n');
    lines.write('{"n":3}\n');
    expect(target.writes).toEqual([]);
    vi.advanceTimersByTime(99);
    expect(target.writes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(target.writes).toEqual(['{"n":1}\n{"n":2}\n{"n":3}\n']);
    vi.advanceTimersByTime(1_000);
    expect(target.writes).toHaveLength(1);
  });

  it("counts the 100 ms from the first pending line, not the latest", () => {
    const target = new FakeTarget();
    const lines = new BatchedLogLines(target, target.fd);
    lines.write("a\n");
    vi.advanceTimersByTime(60);
    lines.write("b\n");
    vi.advanceTimersByTime(40);
    expect(target.writes).toEqual(["a\nb\n"]);
    // The next line starts a new batch with a timer of its own.
    lines.write("c\n");
    vi.advanceTimersByTime(99);
    expect(target.writes).toEqual(["a\nb\n"]);
    vi.advanceTimersByTime(1);
    expect(target.writes).toEqual(["a\nb\n", "c\n"]);
  });

  it("hands a batch over once the next line would not fit in 64 KiB; that line starts the next", () => {
    expect(BATCH_BYTES).toBe(64 * 1024);
    const target = new FakeTarget();
    const lines = new BatchedLogLines(target, target.fd);
    const full = Array.from({ length: 64 }, (_, index) => lineOf(`line-${index}`, 1024));
    for (const line of full) lines.write(line);
    // Exactly 64 KiB: it all fits, and waits.
    expect(target.writes).toEqual([]);
    lines.write("after\n");
    // The next line does not fit: the batch is handed over at once, in order, as one chunk.
    expect(target.writes).toEqual([full.join("")]);
    expect(target.writes[0]).toHaveLength(64 * 1024);
    vi.advanceTimersByTime(100);
    expect(target.writes).toEqual([full.join(""), "after\n"]);
  });

  it("measures lines in bytes: multi-byte characters are kept whole and in order", () => {
    const target = new FakeTarget();
    const lines = new BatchedLogLines(target, target.fd);
    // Leaves 10 bytes of room.
    const filler = lineOf("filler", BATCH_BYTES - 10);
    lines.write(filler);
    const euros = "€€€\n"; // 4 characters, 10 bytes: fits exactly.
    lines.write(euros);
    expect(target.writes).toEqual([]);
    lines.write("é\n"); // 2 characters, 3 bytes: no room left.
    expect(target.writes).toEqual([filler + euros]);
    expect(Buffer.byteLength(target.writes[0] as string)).toBe(BATCH_BYTES);
    lines.flush();
    expect(target.writes).toEqual([filler + euros, "é\n"]);
  });

  it("writes a line larger than a batch on its own, after what was pending", () => {
    const target = new FakeTarget();
    const lines = new BatchedLogLines(target, target.fd);
    lines.write("before\n");
    const huge = lineOf("huge", BATCH_BYTES + 1);
    lines.write(huge);
    expect(target.writes).toEqual(["before\n", huge]);
    lines.write("after\n");
    vi.advanceTimersByTime(100);
    expect(target.writes).toEqual(["before\n", huge, "after\n"]);
  });

  it("the size write cancels the pending timer: the next batch waits its own 100 ms", () => {
    const target = new FakeTarget();
    const lines = new BatchedLogLines(target, target.fd);
    lines.write("small\n");
    vi.advanceTimersByTime(50);
    const big = lineOf("big", BATCH_BYTES - 6);
    lines.write(big);
    lines.write("next\n");
    expect(target.writes).toEqual([`small\n${big}`]);
    // When the first batch's timer would have fired.
    vi.advanceTimersByTime(50);
    expect(target.writes).toHaveLength(1);
    vi.advanceTimersByTime(50);
    expect(target.writes).toEqual([`small\n${big}`, "next\n"]);
  });

  it("a flush with nothing pending writes nothing", () => {
    const target = new FakeTarget();
    const lines = new BatchedLogLines(target, target.fd);
    lines.flush();
    expect(target.writes).toEqual([]);
    lines.write("only\n");
    lines.flush();
    expect(target.writes).toEqual(["only\n"]);
    lines.flush();
    vi.advanceTimersByTime(500);
    expect(target.writes).toEqual(["only\n"]);
  });

  it("on process exit flushes the target synchronously, then writes what is pending to its fd", () => {
    const target = new FakeTarget();
    const lines = new BatchedLogLines(target, target.fd);
    expect(exitListeners).toHaveLength(1);
    lines.write("last-1\n");
    lines.write("last-2\n");
    exitListeners[0]?.();
    expect(target.flushSyncCalls).toBe(1);
    // Straight to the file, not through the target's asynchronous write.
    expect(target.writes).toEqual([]);
    expect(readFileSync(target.path, "utf8")).toBe("last-1\nlast-2\n");
  });

  it("on process exit swallows a target that cannot flush any more", () => {
    const target = new FakeTarget();
    new BatchedLogLines(target, target.fd).write("lost\n");
    target.failFlushSync = true;
    expect(() => exitListeners[0]?.()).not.toThrow();
  });

  it("calls back a flush (pino's logger.flush(cb)) once the target has flushed", () => {
    const target = new FakeTarget();
    const lines = new BatchedLogLines(target, target.fd);
    lines.write("a\n");
    const called: unknown[] = [];
    lines.flush((error) => called.push(error ?? "done"));
    expect(target.writes).toEqual(["a\n"]);
    expect(called).toEqual([]);
    target.flushCallbacks[0]?.();
    expect(called).toEqual(["done"]);
  });
});
