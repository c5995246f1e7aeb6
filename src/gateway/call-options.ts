/**
 * What the gateway passes on to a module with each call: only the caller's Authorization header,
 * so the module authorizes the real caller, plus the client's abort signal.
 */
import type { CallOptions } from "@connectrpc/connect";
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";

export function callOptions(c: Context): CallOptions | undefined {
  // Read from Node's own request when there is one: asking the fetch-style Request for a header
  // makes @hono/node-server build a full Headers object, a visible cost on a cached read.
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  const authorization = incoming
    ? rawHeader(incoming.rawHeaders, "authorization")
    : c.req.header("authorization");
  return authorization === undefined ? undefined : { headers: { authorization } };
}

/** Finds a header in Node's raw [name, value, …] list without building the parsed headers object. */
function rawHeader(rawHeaders: string[], lowerCaseName: string): string | undefined {
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] as string;
    if (name.length === lowerCaseName.length && name.toLowerCase() === lowerCaseName)
      return rawHeaders[index + 1];
  }
  return undefined;
}
