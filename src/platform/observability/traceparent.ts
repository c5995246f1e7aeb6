/**
 * The W3C Trace Context `traceparent` header (https://www.w3.org/TR/trace-context/):
 * `<2 hex version>-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. Read without a tracer (the
 * trace id a caller's request belongs to, for the logs) and by the tracer (tracing.ts).
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/;
const INVALID_TRACE_ID = "00000000000000000000000000000000";
const INVALID_SPAN_ID = "0000000000000000";

export interface Traceparent {
  readonly traceId: string;
  readonly parentId: string;
  readonly sampled: boolean;
}

/**
 * The fields of a well-formed `traceparent`, else undefined: version ff, all-zero ids, upper-case
 * hex and (for version 00) anything after the flags make it invalid, as the specification says.
 */
export function parseTraceparent(value: string | undefined | null): Traceparent | undefined {
  const match = value ? TRACEPARENT.exec(value) : null;
  if (match === null || match[1] === "ff" || (match[1] === "00" && match[5] !== "")) return undefined;
  const [, , traceId, parentId, flags] = match as unknown as [string, string, string, string, string];
  if (traceId === INVALID_TRACE_ID || parentId === INVALID_SPAN_ID) return undefined;
  return { traceId, parentId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

/** The trace id of a well-formed `traceparent`, else undefined. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return parseTraceparent(traceparent)?.traceId;
}
