/**
 * CORS for browser clients on other origins (`CORS_ORIGINS`, none by default), for REST, Connect
 * and gRPC-Web alike on the one port: a preflight from an allowed origin is answered here, with the
 * methods and headers those protocols use (Connect's own lists, `cors` in @connectrpc/connect) and
 * ours (`authorization`, `idempotency-key`, `x-request-id`, `traceparent`); an actual request from
 * one gets `Access-Control-Allow-Origin` and the response headers a script may read. A request
 * from any other origin, or without one, passes untouched: the browser then refuses the answer to
 * the page, and non-browser clients never send `Origin`. No credentials: tokens travel in the
 * Authorization header, never in cookies. docs/security.md, "Browsers on other origins".
 */
import type { ServerResponse } from "node:http";
import { cors } from "@connectrpc/connect";
import type { AnyResponse, RequestListener } from "./request-listener.js";

const METHODS = [...new Set([...cors.allowedMethods, "GET", "POST", "PUT", "PATCH", "DELETE"])].join(", ");
const REQUEST_HEADERS = [
  ...cors.allowedHeaders,
  "authorization",
  "idempotency-key",
  "x-request-id",
  "traceparent",
].join(", ");
const RESPONSE_HEADERS = [...cors.exposedHeaders, "x-request-id", "location", "retry-after"].join(", ");
/** How long a browser may keep a preflight's answer. */
const PREFLIGHT_MAX_AGE_SECONDS = "7200";

/** `listener` answering browsers on `origins` (exact origins, or "*" for any). */
export function allowingOrigins(listener: RequestListener, origins: readonly string[]): RequestListener {
  if (origins.length === 0) return listener;
  const any = origins.includes("*");
  const allowed = new Set(origins);
  return (request, response) => {
    const origin = request.headers.origin;
    if (origin === undefined || !(any || allowed.has(origin))) {
      listener(request, response);
      return;
    }
    const allowOrigin = any ? "*" : origin;
    if (request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
      answerPreflight(response, allowOrigin);
      return;
    }
    response.setHeader("access-control-allow-origin", allowOrigin);
    response.setHeader("access-control-expose-headers", RESPONSE_HEADERS);
    if (!any) response.setHeader("vary", "Origin");
    listener(request, response);
  };
}

function answerPreflight(response: AnyResponse, allowOrigin: string): void {
  const headers: Record<string, string> = {
    "access-control-allow-origin": allowOrigin,
    "access-control-allow-methods": METHODS,
    "access-control-allow-headers": REQUEST_HEADERS,
    "access-control-max-age": PREFLIGHT_MAX_AGE_SECONDS,
    "content-length": "0",
  };
  if (allowOrigin !== "*") headers.vary = "Origin";
  (response as ServerResponse).writeHead(204, headers);
  response.end();
}
