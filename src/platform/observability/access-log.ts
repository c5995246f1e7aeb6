/**
 * The access log: one line per request at `info`, in the same JSON shape as every pino line
 * (`level`, `time`, the fields, `msg`), written straight to the logger's destination.
 *
 * Built by hand rather than through `logger.info`: pino's generic path (the mixin, serializing an
 * object key by key with escaping checks) measured ~4 µs per line, this line ~0.5 µs to build
 * (BENCHMARKS.md, "Request logs, metrics and tracing"). Every value is either a number, a bounded
 * route or method, or an id already restricted to characters JSON need not escape — and is
 * escaped anyway when it is not.
 */
import { pino } from "pino";
import type { Logger } from "../logger.js";
import type { CompletedRequest } from "./observed-requests.js";

const INFO = 30;
/** Printable ASCII but `"` and `\`: what a JSON string holds as it is. */
const PLAIN = /^[ !#-[\]-~]*$/;

export class AccessLog {
  private readonly stream: { write(line: string): unknown };
  /** False when the level is above info: nothing is built. */
  readonly enabled: boolean;

  constructor(logger: Logger) {
    this.stream = (logger as unknown as Record<symbol, { write(line: string): unknown }>)[
      pino.symbols.streamSym
    ] as { write(line: string): unknown };
    this.enabled = logger.isLevelEnabled("info");
  }

  private lastMillisecond = 0;
  private lastTime = "";

  /** The ISO time of now, formatted once per millisecond (formatting costs ~0.5 µs). */
  private now(): string {
    const millisecond = Date.now();
    if (millisecond !== this.lastMillisecond) {
      this.lastMillisecond = millisecond;
      this.lastTime = new Date(millisecond).toISOString();
    }
    return this.lastTime;
  }

  write(request: CompletedRequest): void {
    const { context } = request;
    let line = `{"level":${INFO},"time":"${this.now()}","method":${text(request.method)},"route":${text(request.route)},"status":${request.status},"durationMs":${Math.round(request.seconds * 1e6) / 1000},"requestId":${text(context.requestId)}`;
    if (context.traceId !== undefined) line += `,"traceId":${text(context.traceId)}`;
    if (request.aborted) line += `,"aborted":true`;
    this.stream.write(`${line},"msg":"request"}\n`);
  }
}

function text(value: string): string {
  return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value);
}
