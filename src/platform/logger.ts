/**
 * The process logger: pino, JSON lines on stdout, or colourised lines for a person at a terminal
 * with LOG_FORMAT=pretty (docs/operations.md, "Logs"). While tracing is on, a line written inside a
 * traced request carries its `traceId` and `spanId`.
 */
import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";
import { BatchedLogLines, type LineWriter } from "./batched-log-lines.js";
import { activeTracer, context, trace } from "./observability/tracing.js";

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
    mixin: traceFields,
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
  // In buffer mode sonic-boom writes the Buffers it is handed (its types only know strings).
  const stdout = pino.destination({ dest: 1, sync: false, contentMode: "buffer" }) as unknown as LineWriter;
  return pino(options, new BatchedLogLines(stdout, 1));
}

/**
 * The active span's ids, while tracing is on (its context manager follows the request); a new
 * object each time, as pino assigns the line's own fields into it.
 */
function traceFields(): Record<string, string> {
  if (activeTracer() === undefined) return {};
  const span = trace.getSpanContext(context.active());
  return span === undefined ? {} : { traceId: span.traceId, spanId: span.spanId };
}
