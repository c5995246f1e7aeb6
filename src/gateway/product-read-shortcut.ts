/**
 * GET /products/:id, the platform's hottest request, answered from Node's request and response
 * before Hono sees it. Hono's own work per request (its Request object, routing, the handler's
 * Context, a close listener, turning the handler's answer back into Node's) was a measurable part
 * of the cached read's CPU (BENCHMARKS.md, "Request logs, metrics and tracing"). What the route
 * does is shared with its Hono registration (`readProductText`, `failureAnswer`), which still
 * answers everything this leaves to it: HEAD, an id with percent-escapes or a slash, and
 * `app.request` in tests.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Client } from "@connectrpc/connect";
import type { InventoryService } from "../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import type { Product } from "../gen/ecommerce/inventory/v1/product_pb.js";
import type { Logger } from "../platform/logger.js";
import { rawHeader } from "../platform/observability/index.js";
import { callOptionsFor } from "./call-options.js";
import { failureAnswer } from "./failure-answer.js";
import { nodeRequestContext, productJsonText, writeJson } from "./node-fast-path.js";
import { readProductText } from "./products-routes.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/** Answers the request and returns true, or returns false and leaves it untouched. */
export type Shortcut = (request: Request, response: Response) => boolean;

/** The route template of what the shortcut answers, for metrics and logs. */
export const PRODUCT_READ_ROUTE = "/products/:id";
const PREFIX = "/products/";

/** The product id of a request the shortcut answers, else undefined. */
export function shortcutProductId(method: string | undefined, url: string): string | undefined {
  if (method !== "GET" || !url.startsWith(PREFIX)) return undefined;
  const queryStart = url.indexOf("?", PREFIX.length);
  const id = queryStart === -1 ? url.slice(PREFIX.length) : url.slice(PREFIX.length, queryStart);
  // Hono decodes percent-escapes, and routes a path with another slash elsewhere: those stay with it.
  if (id === "" || id.includes("/") || id.includes("%")) return undefined;
  return id;
}

/**
 * `cachedProduct`: the gateway's edge copy (product-edge-cache.ts), which answers an anonymous
 * read at once, without a promise (the async path's promises and microtasks were a visible part of
 * a cached read's CPU); `inventory` answers the rest.
 */
export function productReadShortcut(
  inventory: Client<typeof InventoryService>,
  logger: Logger,
  cachedProduct?: (id: string) => Product | undefined,
): Shortcut {
  return (request, response) => {
    const id = shortcutProductId(request.method, request.url ?? "/");
    if (id === undefined) return false;
    const product =
      cachedProduct !== undefined && rawHeader(request, "authorization") === undefined
        ? cachedProduct(id)
        : undefined;
    if (product !== undefined) {
      try {
        writeJson(
          response,
          200,
          "application/json",
          productJsonText(product),
          nodeRequestContext(request).requestId,
        );
      } catch {
        // As below: nothing can be told to this client any more.
        response.destroy();
      }
      return true;
    }
    answer(inventory, logger, id, request, response).catch(() => {
      // Writing the answer itself failed: nothing can be told to this client any more.
      response.destroy();
    });
    return true;
  };
}

async function answer(
  inventory: Client<typeof InventoryService>,
  logger: Logger,
  id: string,
  request: Request,
  response: Response,
): Promise<void> {
  const context = nodeRequestContext(request);
  const { requestId } = context;
  let text: string;
  try {
    text = await readProductText(inventory, id, callOptionsFor(rawHeader(request, "authorization"), context));
  } catch (error) {
    const { problem, headers } = failureAnswer(logger, error, { operation: "GET /products/:id", requestId });
    writeJson(
      response,
      problem.status,
      "application/problem+json",
      JSON.stringify(problem),
      requestId,
      headers,
    );
    return;
  }
  writeJson(response, 200, "application/json", text, requestId);
}
