/**
 * Spans of Connect calls, on both sides, as the OpenTelemetry RPC conventions name them
 * (`ecommerce.orders.v1.OrderService/CreateOrder`, `rpc.system` = `connect_rpc`): the client
 * interceptor starts a CLIENT span (and, over the network, sends its `traceparent` with the call);
 * the server interceptor continues that trace with a SERVER span around the handler. Both sides
 * run on the in-process transport and over the network, so a trace has the same shape in every
 * topology. Without tracing they pass the call straight on.
 */

import {
  Code,
  ConnectError,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from "@opentelemetry/api";
import { endedWith } from "./span-end.js";
import { onCallEnd } from "./stream-end.js";
import { activeTracer, context, contextFromTraceparent, trace, traceparentOf } from "./tracing.js";

type AnyRequest = UnaryRequest | StreamRequest;

/** For calls that leave the process: the client span, and its `traceparent` sent with the call. */
export const traceRpcCalls: Interceptor = (next) => (request) => tracedCall(next, request, true);

/**
 * For calls in process: the client span only. The handler runs in the caller's context, where
 * the client span is active, so its server span finds its parent there without a header to set
 * and parse on every call.
 */
export const traceInProcessCalls: Interceptor = (next) => (request) => tracedCall(next, request, false);

function tracedCall<T extends UnaryResponse | StreamResponse>(
  next: (request: AnyRequest) => Promise<T>,
  request: AnyRequest,
  sendTraceparent: boolean,
) {
  const tracer = activeTracer();
  if (tracer === undefined) return next(request);
  const parent = context.active();
  const span = startRpcSpan(tracer, request, SpanKind.CLIENT, parent);
  const active = trace.setSpan(parent, span);
  if (sendTraceparent) {
    const traceparent = traceparentOf(active);
    if (traceparent !== undefined) request.header.set("traceparent", traceparent);
  }
  return endedWithCall(
    span,
    context.with(active, () => next(request)),
    CLIENT_FAILURE,
  );
}

export const traceRpcHandlers: Interceptor = (next) => (request) => {
  const tracer = activeTracer();
  if (tracer === undefined) return next(request);
  // Over the network the caller's span comes in the header; in process it is the active one.
  const traceparent = request.header.get("traceparent");
  const parent = traceparent === null ? context.active() : contextFromTraceparent(traceparent, ROOT_CONTEXT);
  const span = startRpcSpan(tracer, request, SpanKind.SERVER, parent);
  return endedWithCall(
    span,
    context.with(trace.setSpan(parent, span), () => next(request)),
    SERVER_FAILURE,
  );
};

/**
 * The SERVER span of one item of a batch call (batch-item-context.ts in the transport subsystem),
 * named for the method the item stands for and continuing its caller's trace (`traceparent`, sent
 * in the item), so that a request's trace has the shape it has when its call goes alone. The
 * batch call's own span, in a trace of its own, links to the callers' spans (work-for-many.ts).
 */
export function traceBatchItem<T>(
  traceparent: string | undefined,
  call: { service: { typeName: string }; method: { name: string } },
  batch: { service: { typeName: string }; method: { name: string } },
  work: () => Promise<T>,
): Promise<T> {
  const tracer = activeTracer();
  if (tracer === undefined) return work();
  const parent = contextFromTraceparent(traceparent, ROOT_CONTEXT);
  const span = startRpcSpan(tracer, call, SpanKind.SERVER, parent);
  span.setAttribute("rpc.batch", `${batch.service.typeName}/${batch.method.name}`);
  return endedWith(span, context.with(trace.setSpan(parent, span), work), SERVER_FAILURE);
}

/** Ends the span with the call: a server stream's when its messages end, not when it starts. */
async function endedWithCall<T extends UnaryResponse | StreamResponse>(
  span: Span,
  call: Promise<T>,
  onFailure: (span: Span, error: unknown) => void,
): Promise<T> {
  return onCallEnd(call, (error) => {
    if (error !== undefined) onFailure(span, error);
    span.end();
    return error;
  });
}

/**
 * The codes the RPC conventions count as a server's failure: a caller's mistake (not_found,
 * invalid_argument, …) is an error of the client span only.
 */
const SERVER_FAULTS = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

/** Any failure is the client span's error; the server span's only when the server is at fault. */
const CLIENT_FAILURE = rpcFailure(() => true);
const SERVER_FAILURE = rpcFailure((code) => SERVER_FAULTS.has(code));

function startRpcSpan(
  tracer: Tracer,
  request: { service: { typeName: string }; method: { name: string } },
  kind: SpanKind,
  parent: Context,
): Span {
  return tracer.startSpan(
    `${request.service.typeName}/${request.method.name}`,
    {
      kind,
      attributes: {
        "rpc.system": "connect_rpc",
        "rpc.service": request.service.typeName,
        "rpc.method": request.method.name,
      },
    },
    parent,
  );
}

/** Notes a failed call's Connect code on its span; `isError` says whether the code is the span's error. */
function rpcFailure(isError: (code: Code) => boolean) {
  return (span: Span, error: unknown) => {
    const { code } = ConnectError.from(error);
    span.setAttribute("rpc.connect_rpc.error_code", codeToString(code));
    if (isError(code)) span.setStatus({ code: SpanStatusCode.ERROR, message: codeToString(code) });
  };
}
