/**
 * The REST edge: a Hono app that holds no business rules. It turns JSON into module calls through
 * the same Connect clients a module would use, and module errors into problem+json.
 */

import type { Client } from "@connectrpc/connect";
import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { registerAdminRoutes } from "../admin/admin-routes.js";
import type { InventoryService } from "../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import type { Product } from "../gen/ecommerce/inventory/v1/product_pb.js";
import type { OrderService } from "../gen/ecommerce/orders/v1/order_service_pb.js";
import type { StatisticsService } from "../gen/ecommerce/statistics/v1/statistics_service_pb.js";
import type { Logger } from "../platform/logger.js";
import type { Registry } from "../platform/metrics.js";
import { registerApiDocs } from "./api-docs.js";
import { registerDiscountRoutes } from "./discounts-routes.js";
import { failureAnswer } from "./failure-answer.js";
import { requestContext } from "./node-fast-path.js";
import { type ReadinessCheck, registerOperationsRoutes } from "./operations-routes.js";
import { registerOrderEventsRoute } from "./order-events-route.js";
import { type OrderBatching, orderPlacement } from "./order-placement.js";
import { registerOrderRoutes } from "./orders-routes.js";
import { type Problem, problem, validationProblem } from "./problem.js";
import { PRODUCT_READ_ROUTE, productReadShortcut, shortcutProductId } from "./product-read-shortcut.js";
import { registerProductRoutes } from "./products-routes.js";
import { restListener } from "./rest-listener.js";
import { registerReviewRoutes } from "./reviews-routes.js";
import { routeTemplate } from "./route-template.js";
import { registerStatisticsRoutes } from "./statistics-routes.js";

export interface GatewayClients {
  inventory: Client<typeof InventoryService>;
  orders: Client<typeof OrderService>;
  statistics: Client<typeof StatisticsService>;
}

/** What every process's REST side needs: its health and metrics, and the body limit. */
export interface EdgeOptions {
  readiness: ReadinessCheck[];
  /** True from the moment the process starts stopping (readiness fails from then on). */
  draining: () => boolean;
  metrics: Registry;
  logger: Logger;
  /** Largest request body (MAX_BODY_BYTES); larger ones are refused while they arrive. */
  maxBodyBytes: number;
}

export interface GatewayOptions extends EdgeOptions {
  clients: GatewayClients;
  /**
   * The edge copy of a product that may answer an anonymous read now (product-edge-cache.ts), when
   * the gateway keeps one; `clients.inventory` answers from the same copy.
   */
  cachedProduct?: (id: string) => Product | undefined;
  /** Set when orders runs in another process: concurrent orders go in one call (order-placement.ts). */
  orderBatching?: OrderBatching;
  /** STORE_CURRENCY, for the admin UI's amounts. */
  storeCurrency: string;
  /** Aborted when the process starts stopping: open event streams end then (GET /orders/events). */
  stopping: AbortSignal;
}

export type NodeListener = ReturnType<typeof restListener>;

/** A process's REST side: its Node listener, and the route template each request resolves to. */
export interface RestSide {
  readonly listener: NodeListener;
  /** "/products/:id" for `GET /products/42?x=1`; "unmatched" when no route takes it. */
  readonly routeOf: (method: string, url: string) => string;
}

/** The REST edge as a Node request listener (see rest-listener.ts for where the body limit sits). */
export function createGatewayListener(options: GatewayOptions): RestSide {
  const app = createGatewayApp(options);
  return {
    listener: restListener(app, {
      maxBodyBytes: options.maxBodyBytes,
      shortcut: productReadShortcut(options.clients.inventory, options.logger, options.cachedProduct),
    }),
    routeOf: (method, url) =>
      shortcutProductId(method, url) === undefined ? routeTemplate(app, method, url) : PRODUCT_READ_ROUTE,
  };
}

/**
 * The REST side of a process that hosts modules but not the gateway: /healthz, /readyz and
 * /metrics alone, so that every process can be probed and scraped whatever its MODULES.
 */
export function createOperationsListener(options: EdgeOptions): RestSide {
  return edgeListener(createEdgeApp(options), options);
}

export function createGatewayApp(options: GatewayOptions): OpenAPIHono {
  const app = createEdgeApp(options);
  registerProductRoutes(app, options.clients.inventory);
  // Before the order routes, whose GET /orders/{id} would take "events" for an order id.
  registerOrderEventsRoute(app, options.clients.orders, {
    stopping: options.stopping,
    logger: options.logger,
  });
  registerOrderRoutes(
    app,
    options.clients.orders,
    orderPlacement(options.clients.orders, options.orderBatching),
  );
  registerReviewRoutes(app, options.clients.orders);
  registerStatisticsRoutes(app, options.clients.statistics);
  registerDiscountRoutes(app, options.clients.inventory);
  registerApiDocs(app);
  registerAdminRoutes(app, { currency: options.storeCurrency });
  return app;
}

function edgeListener(app: OpenAPIHono, options: EdgeOptions): RestSide {
  return {
    listener: restListener(app, { maxBodyBytes: options.maxBodyBytes }),
    routeOf: (method, url) => routeTemplate(app, method, url),
  };
}

/** An app with the operations routes, validation failures as 400, and errors as problem+json. */
function createEdgeApp(options: EdgeOptions): OpenAPIHono {
  const { logger } = options;
  const app = new OpenAPIHono({
    // Type errors found by the route schemas: 400 with one entry per offending field.
    defaultHook: (result) => {
      if (result.success) return;
      // One entry per field (the first rule it broke), as the modules report them.
      const byField = new Map<string, string>();
      for (const issue of result.error.issues) {
        const field = issue.path.length > 0 ? issue.path.join(".") : "body";
        if (!byField.has(field)) byField.set(field, issue.message);
      }
      return sendProblem(validationProblem([...byField].map(([field, message]) => ({ field, message }))));
    },
  });
  registerOperationsRoutes(app, {
    checks: options.readiness,
    draining: options.draining,
    registry: options.metrics,
    logger,
  });
  app.notFound((c) => {
    return sendProblem(problem(404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  });
  app.onError((error, c) => {
    if (error instanceof HTTPException && error.status < 500) {
      // Raised by Hono's body parsing, e.g. malformed JSON.
      return sendProblem(problem(error.status, "invalid_argument", error.message || "malformed request"));
    }
    const answer = failureAnswer(logger, error, {
      operation: `${c.req.method} ${c.req.routePath}`,
      requestId: requestContext(c).requestId,
    });
    return sendProblem(answer.problem, answer.headers);
  });
  return app;
}

function sendProblem(body: Problem, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status: body.status as ContentfulStatusCode,
    headers: { "content-type": "application/problem+json", ...headers },
  });
}
