/**
 * The W3C Trace Context `traceparent` header (https://www.w3.org/TR/trace-context/):
 * `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. Only what the platform reads of it
 * without a tracer: the trace id a caller's request belongs to, for the logs.
 */
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/;
const INVALID_TRACE_ID = "00000000000000000000000000000000";

/** The trace id of a well-formed `traceparent`, else undefined. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  if (traceparent === undefined) return undefined;
  const match = TRACEPARENT.exec(traceparent);
  const traceId = match?.[1];
  return traceId === undefined || traceId === INVALID_TRACE_ID || traceparent.startsWith("ff")
    ? undefined
    : traceId;
}
