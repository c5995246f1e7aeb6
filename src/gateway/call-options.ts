/**
 * What the gateway passes on to a module with each call: only the caller's Authorization header,
 * so the module authorizes the real caller, plus the client's abort signal.
 */
import type { CallOptions } from "@connectrpc/connect";
import type { Context } from "hono";

export function callOptions(c: Context): CallOptions | undefined {
  const authorization = c.req.header("authorization");
  return authorization === undefined ? undefined : { headers: { authorization } };
}
