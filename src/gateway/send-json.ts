/**
 * Writes a JSON text straight to Node's response when the app runs on @hono/node-server, skipping
 * the fetch-style Response object and its conversion back to Node: on a cached product read that
 * conversion is a visible share of the cost. Elsewhere (tests calling app.request) it falls back
 * to an ordinary Response.
 */
import type { HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Context } from "hono";

export function sendJsonText(c: Context, status: number, text: string): Response {
  const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
  if (outgoing === undefined) {
    return new Response(text, { status, headers: { "content-type": "application/json" } });
  }
  outgoing.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  outgoing.end(text);
  return RESPONSE_ALREADY_SENT;
}
