/** A logger whose JSON lines a test can read back. */
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/platform/logger.js";

export interface CapturedLog {
  readonly logger: Logger;
  /** Every line logged so far, parsed. */
  readonly lines: Record<string, unknown>[];
}

export function capturedLog(level = "info"): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger(level, "json", destination), lines };
}
