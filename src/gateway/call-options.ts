/**
 * What the gateway passes on to a module with each call: the caller's Authorization header, so the
 * module authorizes the real caller, and the caller's request id, so a failure's log line in the
 * module names it. The deadline comes from the gateway's transport (RPC_TIMEOUT_MS).
 */
import type { CallOptions } from "@connectrpc/connect";
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import { saneRequestId } from "../platform/rpc/index.js";

export function callOptions(c: Context): CallOptions | undefined {
  // Read from Node's own request when there is one: asking the fetch-style Request for a header
  // makes @hono/node-server build a full Headers object, a visible cost on a cached read.
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  let authorization: string | undefined;
  let requestId: string | undefined;
  if (incoming) {
    const raw = incoming.rawHeaders;
    for (let index = 0; index < raw.length; index += 2) {
      const name = raw[index] as string;
      if (name.length === 13 && name.toLowerCase() === "authorization") authorization = raw[index + 1];
      else if (name.length === 12 && name.toLowerCase() === "x-request-id") requestId = raw[index + 1];
    }
  } else {
    authorization = c.req.header("authorization");
    requestId = c.req.header("x-request-id");
  }
  requestId = saneRequestId(requestId);
  if (authorization === undefined && requestId === undefined) return undefined;
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (requestId !== undefined) headers["x-request-id"] = requestId;
  return { headers };
}
