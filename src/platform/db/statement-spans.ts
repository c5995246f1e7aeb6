/**
 * A span (kind CLIENT) for every statement sent to PostgreSQL while tracing is on, as the
 * OpenTelemetry database conventions describe one: `db.system` = `postgresql`, the statement's
 * text (with its `$1` placeholders: parameter values never reach a trace), the operation and the
 * database. Started when drizzle hands the statement to postgres.js and ended when its result (or
 * error) comes back, as a child of whatever span is active: the handler's, the relay's, the
 * consumer's. docs/operations.md, "Tracing".
 */
import { context, type Span, SpanKind, type Tracer } from "@opentelemetry/api";
import { markFailed } from "../observability/span-end.js";

export interface DatabaseServer {
  readonly host: string;
  readonly port: number;
  readonly database: string;
}

/** Methods of a postgres.js query that set how it runs and return the query itself. */
const CHAINED = new Set(["values", "raw", "simple", "describe", "execute", "cursor", "forEach"]);

/** `pending`, with a span that covers it from now until it settles. */
export function tracedStatement<T extends PromiseLike<unknown>>(
  tracer: Tracer,
  pending: T,
  text: string,
  server: DatabaseServer,
): T {
  const operation = /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? "QUERY";
  const span = tracer.startSpan(
    `${operation} ${server.database}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "db.system": "postgresql",
        "db.system.name": "postgresql",
        "db.namespace": server.database,
        "db.operation.name": operation,
        "db.query.text": text,
        "server.address": server.host,
        "server.port": server.port,
      },
    },
    context.active(),
  );
  let ended = false;
  const end = (error?: unknown) => {
    if (ended) return;
    ended = true;
    if (error !== undefined) failed(span, error);
    span.end();
  };
  const proxy: T = new Proxy(pending, {
    get(target, property) {
      if (property === "then") {
        return (onFulfilled?: (rows: unknown) => unknown, onRejected?: (error: unknown) => unknown) =>
          target
            .then(
              (rows) => {
                end();
                return rows;
              },
              (error: unknown) => {
                end(error);
                throw error;
              },
            )
            .then(onFulfilled, onRejected);
      }
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      if (typeof property === "string" && CHAINED.has(property)) {
        return (...args: unknown[]) => {
          (value as (...a: unknown[]) => unknown).apply(target, args);
          return proxy;
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return proxy;
}

function failed(span: Span, error: unknown): void {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") span.setAttribute("db.response.status_code", code);
  span.setAttribute("error.type", error instanceof Error ? error.name : "error");
  markFailed(span, error);
}
