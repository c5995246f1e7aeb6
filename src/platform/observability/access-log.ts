/**
 * The access log: one line per request at `info`, in the same JSON shape as every pino line
 * (`level`, `time`, the fields, `msg`), written straight to the logger's destination.
 *
 * Built by hand rather than through `logger.info`: pino's generic path (the mixin, serializing an
 * object key by key with escaping checks) measured ~4 µs per line, this line ~0.5 µs to build
 * (BENCHMARKS.md, "Request logs, metrics and tracing"). Every value is a number, a method or a
 * route (from bounded sets: their JSON text is made once per value), or an id restricted at its
 * source to characters a JSON string holds as they are (request-id.ts, traceparent.ts).
 */
import { pino } from "pino";
import type { Logger } from "../logger.js";
import type { CompletedRequest } from "./observed-requests.js";

const INFO = 30;
/**
 * Methods and routes whose JSON text is kept. Routes are templates; HTTP/2 takes any token as a
 * method, so past this many distinct values a text is made each time instead of kept.
 */
const MAX_QUOTED = 1000;

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

  private readonly quoted = new Map<string, string>();
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

  /** The JSON text of a method or route. */
  private quote(value: string): string {
    let text = this.quoted.get(value);
    if (text === undefined) {
      text = JSON.stringify(value);
      if (this.quoted.size < MAX_QUOTED) this.quoted.set(value, text);
    }
    return text;
  }

  write(request: CompletedRequest): void {
    const { context } = request;
    let line = `{"level":${INFO},"time":"${this.now()}","method":${this.quote(request.method)},"route":${this.quote(request.route)},"status":${request.status},"durationMs":${Math.round(request.seconds * 1e6) / 1000},"requestId":"${context.requestId}"`;
    if (context.traceId !== undefined) line += `,"traceId":"${context.traceId}"`;
    if (request.aborted) line += `,"aborted":true`;
    this.stream.write(`${line},"msg":"request"}\n`);
  }
}
