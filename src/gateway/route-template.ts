/**
 * Request counts and latency per route template (not per URL, so ids do not explode the series),
 * recorded for every request in one place: around the app's Node listener, where requests refused
 * before Hono (body limit, undecodable URL) are counted too. docs/operations.md lists the series.
 *
 * Not a Hono middleware: a middleware makes Hono compose a chain for every request, the hot
 * product read included, which cost about 5 % of its throughput (~1.5 µs of ~30 µs CPU per read;
 * `npm run bench -- product-read`, BENCHMARKS.md "Platform structure (issue #11)"). The route
 * template is looked up in Hono's router once the response is on its way.
 */
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Hono } from "hono";
import { getPath } from "hono/utils/url";
import type { Registry } from "../platform/metrics.js";
import { RouteMetrics } from "../platform/route-metrics.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = { readonly statusCode: number } | Http2ServerResponse;
type Listener<Res> = (request: Request, response: Res) => Promise<void>;

export class HttpMetrics {
  private readonly routes: RouteMetrics;

  constructor(registry: Registry) {
    this.routes = new RouteMetrics(registry);
  }

  /** `listener`, with each response counted and timed by the template of the route of `app` that matched. */
  measured<Res extends Response>(app: Pick<Hono, "router">, listener: Listener<Res>): Listener<Res> {
    return (request, response) => {
      const started = performance.now();
      return listener(request, response).then(() => {
        const method = request.method ?? "";
        this.observe(method, routeTemplate(app, method, request.url ?? "/"), response.statusCode, started);
      });
    };
  }

  /** Counts a request whose method and route template the caller knows. */
  observe(method: string, route: string, status: number, started: number): void {
    this.routes.observe(method, route, status, (performance.now() - started) / 1000);
  }
}

/** The path template Hono routes `method url` to ("/products/:id"), or "unmatched". */
function routeTemplate(app: Pick<Hono, "router">, method: string, url: string): string {
  // Hono matches the percent-decoded path; the query never counts.
  const queryStart = url.indexOf("?");
  const path = url.includes("%")
    ? getPath({ url: `http://host${url}` } as globalThis.Request)
    : queryStart === -1
      ? url
      : url.slice(0, queryStart);
  const [matched] = app.router.match(method === "HEAD" ? "GET" : method, path);
  // The last handler is the route's own (any before it are its validators, on the same path).
  const last = matched[matched.length - 1];
  return last === undefined ? "unmatched" : last[0][1].path;
}
