/**
 * Where the gateway departs from ordinary Hono code for speed — all of it here. The cached product
 * read (GET /products/:id) is the platform's hottest request, and on it each of these was measured
 * with `npm run bench -- product-read` (BENCHMARKS.md, "Cached product read", "Where the time
 * goes"). Each falls back to the ordinary way when the app does not run on @hono/node-server
 * (tests calling `app.request`).
 */
import { Buffer } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Context } from "hono";
import type { Product } from "../gen/ecommerce/inventory/v1/product_pb.js";
import { type RequestContext, rawHeader, requestContextOf } from "../platform/observability/index.js";
import { REQUEST_ID_HEADER, requestIdFrom } from "../platform/rpc/index.js";
import { productJson } from "./product-json.js";

/**
 * The caller's Authorization header, read from Node's raw header list: asking the fetch-style
 * Request for a header makes @hono/node-server build a full Headers object, a visible cost on a
 * cached read.
 */
export function authorizationHeader(c: Context): string | undefined {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  return incoming ? rawHeader(incoming, "authorization") : c.req.header("authorization");
}

/**
 * The request's context as the one port attached it; tests that call `app.request` directly get
 * one from the caller's `x-request-id`.
 */
export function requestContext(c: Context): RequestContext {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (incoming !== undefined) return nodeRequestContext(incoming);
  return { requestId: requestIdFrom(c.req.header(REQUEST_ID_HEADER)), traceId: undefined };
}

/** The context the one port attached to a Node request, else one from its `x-request-id`. */
export function nodeRequestContext(incoming: IncomingMessage | Http2ServerRequest): RequestContext {
  return (
    requestContextOf(incoming) ?? {
      requestId: requestIdFrom(rawHeader(incoming, REQUEST_ID_HEADER)),
      traceId: undefined,
    }
  );
}

const serialized = new WeakMap<Product, string>();

/**
 * JSON text of one product, computed once per message object: cached products reach the gateway
 * as the same immutable object on every hit, so a warm read serializes nothing.
 */
export function productJsonText(product: Product): string {
  let text = serialized.get(product);
  if (text === undefined) {
    text = JSON.stringify(productJson(product));
    serialized.set(product, text);
  }
  return text;
}

/**
 * Writes a JSON text straight to Node's response, skipping the fetch-style Response object and its
 * conversion back to Node.
 */
export function sendJsonText(c: Context, status: number, text: string): Response {
  const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
  if (outgoing === undefined) {
    return new Response(text, { status, headers: { "content-type": "application/json" } });
  }
  writeJson(outgoing, status, "application/json", text, requestContext(c).requestId);
  return RESPONSE_ALREADY_SENT;
}

/**
 * The one writeHead and end of a JSON answer, `x-request-id` included: the REST side answers the
 * request id itself (rest-listener.ts says why).
 */
export function writeJson(
  outgoing: ServerResponse | Http2ServerResponse,
  status: number,
  contentType: string,
  text: string,
  requestId: string,
  headers?: Record<string, string>,
): void {
  // A literal name, not [REQUEST_ID_HEADER]: a computed key makes every call define the property
  // through V8's runtime (its share of a cached read's samples: 6.9 % with it, 2.2 % without).
  const head = {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
    "x-request-id": requestId,
  };
  (outgoing as ServerResponse).writeHead(status, headers === undefined ? head : { ...head, ...headers });
  outgoing.end(text);
}
