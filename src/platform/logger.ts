/**
 * The process logger: pino, JSON lines on stdout, or colourised lines for a person at a terminal
 * with LOG_FORMAT=pretty (docs/operations.md, "Logs").
 */
import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";
import { BatchedLogLines } from "./batched-log-lines.js";

export type { Logger };

export type LogFormat = "json" | "pretty";

/** `destination` (stdout by default) is for tests that read what was logged. */
export function createLogger(
  level: string,
  format: LogFormat = "json",
  destination?: DestinationStream,
): Logger {
  const options: LoggerOptions = {
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    // pino-pretty formats in a worker thread, off the event loop.
    transport:
      format === "pretty"
        ? { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss.l" } }
        : undefined,
  };
  if (destination !== undefined) return pino(options, destination);
  if (format === "pretty") return pino(options);
  // Asynchronous: a slow reader of stdout never blocks the event loop. Batched per turn of the
  // event loop (batched-log-lines.ts).
  return pino(options, new BatchedLogLines(pino.destination({ dest: 1, sync: false }), 1));
}
