/**
 * The last two steps of the composition root: the hosted modules' background work, and the one
 * port that serves REST, Connect, gRPC and gRPC-Web. Stopping the port drains it (docs/operations.md,
 * "Shutdown").
 */
import { type ConnectRouter, createConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { problem } from "../gateway/problem.js";
import type { Config } from "../platform/config.js";
import { reportingFailures } from "../platform/errors/index.js";
import type { Step } from "../platform/lifecycle.js";
import type { Logger } from "../platform/logger.js";
import type { Registry } from "../platform/metrics.js";
import type { MountedModule } from "../platform/module.js";
import { handlerContextValues, observeRequests, traceRpcHandlers } from "../platform/observability/index.js";
import { RouteMetrics } from "../platform/route-metrics.js";
import { LONGEST_STREAM_MS } from "../platform/rpc/index.js";
import {
  allowingOrigins,
  capRpcDeadline,
  connectUnaryFastPath,
  listenOnePort,
} from "../platform/server/index.js";
import type { HostedServices } from "./hosted-services.js";

type Listener = Parameters<typeof listenOnePort>[0]["listener"];
type ListeningServer = Awaited<ReturnType<typeof listenOnePort>>;

/**
 * Started in reverse mounting order: consumers (statistics) subscribe before the relays of the
 * modules they listen to start, so an event left in an outbox never finds its group missing.
 * Stopped in mounting order: a module's relay flushes its last events before the modules after it
 * (statistics, last) stop consuming.
 */
export function modulesStep(modules: readonly MountedModule[], logger: Logger): Step {
  const started: MountedModule[] = [];
  let stoppingModule: string | undefined;
  return {
    name: "modules",
    start: async () => {
      for (const module of [...modules].reverse()) {
        await module.start();
        started.push(module);
      }
    },
    stop: async () => {
      for (const module of [...started].reverse()) {
        stoppingModule = module.name;
        // One module failing to stop must not keep the others running.
        await module.stop().catch((error: unknown) => {
          logger.warn({ err: error, module: module.name }, "error while stopping a module");
        });
      }
      stoppingModule = undefined;
    },
    describe: () => `stopping module ${stoppingModule ?? "(none)"}`,
  };
}

export interface HttpStepOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly services: HostedServices;
  /** Called the moment the stop begins: /readyz answers 503 from then on. */
  readonly onDraining: () => void;
}

/** The one port; its stop refuses new connections and lets requests in progress finish. */
export function httpStep({
  config,
  logger,
  metrics,
  services,
  onDraining,
}: HttpStepOptions): Step<ListeningServer> {
  const { rpcPaths, streamPaths } = procedurePaths(services.routes);
  const restRequests = new RouteMetrics(metrics);
  const rpcOptions = {
    routes: services.routes,
    // The span sees the public error the failure became.
    interceptors: [traceRpcHandlers, services.rpcMetrics.handled, reportingFailures(logger)],
    // A handler's context carries the request it serves (its id, for log lines).
    contextValues: handlerContextValues,
  };
  return {
    name: "http",
    start: () =>
      listenOnePort({
        port: config.port,
        host: config.host,
        // Connect, gRPC and gRPC-Web bodies: connect-node stops reading, and inflating, at the limit.
        listener: observeRequests(
          allowingOrigins(
            splitByPath(
              capRpcDeadline(
                // Connect unary calls with a binary body (how modules call each other) are answered
                // by the fast path, with the same options; everything else by connect-node.
                connectUnaryFastPath(
                  { ...rpcOptions, readMaxBytes: config.maxBodyBytes },
                  connectNodeAdapter({ ...rpcOptions, readMaxBytes: config.maxBodyBytes }),
                ),
                config.rpcTimeoutMs,
                // A server stream is a watch, not a request: it has a longer deadline of its own.
                { byPath: new Map([...streamPaths].map((path) => [path, LONGEST_STREAM_MS])) },
              ),
              services.rest.listener,
            ),
            config.corsOrigins,
          ),
          {
            logger,
            isRpc: isRpcPath,
            routeOf: (method, url) =>
              isRpcPath(url) ? rpcRoute(rpcPaths, url) : services.rest.routeOf(method, url),
            // RPCs are counted with their status codes by the RPC metrics (rpc-metrics.ts).
            onCompleted: ({ method, route, status, seconds }) => {
              if (!rpcPaths.has(route)) restRequests.observe(method, route, status, seconds);
            },
          },
        ),
        maxBodyBytes: config.maxBodyBytes,
        malformedRequestAnswer: (status, detail) => ({
          contentType: "application/problem+json",
          body: JSON.stringify(problem(status, "invalid_argument", detail)),
        }),
      }),
    stop: async (listening, { drainMs }) => {
      onDraining();
      if (listening === undefined) return undefined;
      const { abandoned } = await listening.close(drainMs);
      if (abandoned === 0) return undefined;
      const what = `${abandoned} connection(s) cut with a request still in progress after ${drainMs ?? 10_000} ms`;
      logger.warn({ abandoned }, `shutdown: ${what}`);
      return what;
    },
    describe: (listening) => {
      if (listening === undefined) return "not listening";
      const { connections, busy } = listening.activity();
      return `${connections} connection(s) open, ${busy} with a request in progress`;
    },
  };
}

/**
 * RPC paths are `/<package>.<Service>/<Method>` and every package starts with "ecommerce.", so one
 * prefix check sends each request straight to its handler: REST requests skip Connect's router.
 */
function splitByPath(rpc: Listener, rest: Listener): Listener {
  return (request, response) => {
    if (isRpcPath(request.url)) rpc(request, response);
    else rest(request, response);
  };
}

function isRpcPath(url: string | undefined): boolean {
  return url?.startsWith("/ecommerce.") === true;
}

/** An RPC's path as its route when this port serves it, else "unmatched" (never the raw URL). */
function rpcRoute(paths: ReadonlySet<string>, url: string): string {
  const queryStart = url.indexOf("?");
  const path = queryStart === -1 ? url : url.slice(0, queryStart);
  return paths.has(path) ? path : "unmatched";
}

/**
 * The request paths ("/ecommerce.orders.v1.OrderService/CreateOrder") of every RPC `routes`
 * registers, and of those, the server streams'.
 */
function procedurePaths(routes: (router: ConnectRouter) => void): {
  rpcPaths: ReadonlySet<string>;
  streamPaths: ReadonlySet<string>;
} {
  const router = createConnectRouter();
  routes(router);
  const { handlers } = router;
  return {
    rpcPaths: new Set(handlers.map((handler) => handler.requestPath)),
    streamPaths: new Set(
      handlers
        .filter((handler) => handler.method.methodKind !== "unary")
        .map((handler) => handler.requestPath),
    ),
  };
}
