/**
 * What the gateway passes on to a module with each call: the caller's Authorization header, so the
 * module authorizes the real caller, and the caller's request id, so a failure's log line in the
 * module names it. The deadline comes from the gateway's transport (RPC_TIMEOUT_MS).
 */
import type { CallOptions } from "@connectrpc/connect";
import type { Context } from "hono";
import { saneRequestId } from "../platform/rpc/index.js";
import { forwardedHeaders } from "./node-fast-path.js";

export function callOptions(c: Context): CallOptions | undefined {
  const forwarded = forwardedHeaders(c);
  const { authorization } = forwarded;
  const requestId = saneRequestId(forwarded.requestId);
  if (authorization === undefined && requestId === undefined) return undefined;
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (requestId !== undefined) headers["x-request-id"] = requestId;
  return { headers };
}
