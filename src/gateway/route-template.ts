/**
 * The route template a REST request resolves to ("/products/:id"), by which requests are counted
 * and logged: never the URL itself, so ids do not explode the metric series. Looked up in Hono's
 * router once the response is on its way, outside the request's own path (see
 * platform/observability, observed-requests.ts).
 */
import type { Hono } from "hono";
import { getPath } from "hono/utils/url";

/** The path template Hono routes `method url` to in `app`, or "unmatched". */
export function routeTemplate(app: Pick<Hono, "router">, method: string, url: string): string {
  // Hono matches the percent-decoded path; the query never counts.
  const queryStart = url.indexOf("?");
  const path = url.includes("%")
    ? getPath({ url: `http://host${url}` } as globalThis.Request)
    : queryStart === -1
      ? url
      : url.slice(0, queryStart);
  const [matched] = app.router.match(method === "HEAD" ? "GET" : method, path);
  // The first handler belongs to the route that answers: a route's validators come before its own
  // handler, on its path, and of two routes that match (/orders/events, /orders/:id) the one
  // registered first answers.
  const first = matched[0];
  return first === undefined ? "unmatched" : first[0][1].path;
}
