/**
 * Caps the deadline of every Connect, gRPC and gRPC-Web call this process serves: a caller's own
 * timeout is honoured up to `maxMs`, a longer one or none at all becomes `maxMs` (RPC_TIMEOUT_MS).
 * Done on the request headers before connect-node reads them, so a handler's context (its
 * `timeoutMs()`, its signal, and the deadline a forwarded call passes on) never sees more.
 * connect-node's own `maxTimeoutMs` would refuse such calls instead of capping them.
 */
import type { RequestListener } from "./request-listener.js";

const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const GRPC_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };

/** A grpc-timeout header value in milliseconds; undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  const match = value === undefined ? null : GRPC_TIMEOUT.exec(value);
  if (match === null) return undefined;
  return Number(match[1]) * (GRPC_UNIT_MS[match[2] as string] as number);
}

export function capRpcDeadline(listener: RequestListener, maxMs: number): RequestListener {
  const grpcMax = `${maxMs}m`;
  const connectMax = String(maxMs);
  return (request, response) => {
    const headers = request.headers;
    if ((headers["content-type"] ?? "").startsWith("application/grpc")) {
      const timeout = parseGrpcTimeout(headers["grpc-timeout"] as string | undefined);
      if (timeout === undefined || timeout > maxMs) headers["grpc-timeout"] = grpcMax;
    } else {
      const text = headers["connect-timeout-ms"] as string | undefined;
      if (text === undefined || !/^\d{1,10}$/.test(text) || Number(text) > maxMs) {
        headers["connect-timeout-ms"] = connectMax;
      }
    }
    listener(request, response);
  };
}
