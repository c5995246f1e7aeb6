/**
 * Caps the deadline of every Connect, gRPC and gRPC-Web call this process serves: a caller's own
 * timeout is honoured up to `maxMs`, a longer one or none at all becomes `maxMs` (RPC_TIMEOUT_MS),
 * or the cap of the call's own path when it has one (a server stream, which lives longer than a
 * request: LONGEST_STREAM_MS). Done on the request headers before connect-node reads them, so a
 * handler's context (its `timeoutMs()`, its signal, and the deadline a forwarded call passes on)
 * never sees more. connect-node's own `maxTimeoutMs` would refuse such calls instead of capping them.
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

export interface RpcDeadlineOptions {
  /** Request paths (`/<package>.<Service>/<Method>`) whose calls are capped at another maximum. */
  byPath?: ReadonlyMap<string, number>;
}

/** A maximum deadline as both protocols write it. */
interface Cap {
  readonly ms: number;
  readonly grpc: string;
  readonly connect: string;
}

const capOf = (ms: number): Cap => ({ ms, grpc: `${ms}m`, connect: String(ms) });

export function capRpcDeadline(
  listener: RequestListener,
  maxMs: number,
  options: RpcDeadlineOptions = {},
): RequestListener {
  const everyCall = capOf(maxMs);
  const byPath = new Map([...(options.byPath ?? [])].map(([path, ms]) => [path, capOf(ms)]));
  const capFor = (url: string | undefined): Cap => {
    if (byPath.size === 0 || url === undefined) return everyCall;
    const queryStart = url.indexOf("?");
    return byPath.get(queryStart === -1 ? url : url.slice(0, queryStart)) ?? everyCall;
  };
  return (request, response) => {
    const headers = request.headers;
    const cap = capFor(request.url);
    if ((headers["content-type"] ?? "").startsWith("application/grpc")) {
      const timeout = parseGrpcTimeout(headers["grpc-timeout"] as string | undefined);
      if (timeout === undefined || timeout > cap.ms) headers["grpc-timeout"] = cap.grpc;
    } else {
      const text = headers["connect-timeout-ms"] as string | undefined;
      if (text === undefined || !/^\d{1,10}$/.test(text) || Number(text) > cap.ms) {
        headers["connect-timeout-ms"] = cap.connect;
      }
    }
    listener(request, response);
  };
}
