/**
 * The last two steps of the composition root: the hosted modules' background work, and the one
 * port that serves REST, Connect, gRPC and gRPC-Web. Stopping the port drains it (docs/operations.md,
 * "Shutdown").
 */
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { problem } from "../gateway/problem.js";
import type { Config } from "../platform/config.js";
import { reportingFailures } from "../platform/errors/index.js";
import type { Step } from "../platform/lifecycle.js";
import type { Logger } from "../platform/logger.js";
import type { MountedModule } from "../platform/module.js";
import { capRpcDeadline, listenOnePort } from "../platform/server/index.js";
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
  readonly services: HostedServices;
  /** Called the moment the stop begins: /readyz answers 503 from then on. */
  readonly onDraining: () => void;
}

/** The one port; its stop refuses new connections and lets requests in progress finish. */
export function httpStep({ config, logger, services, onDraining }: HttpStepOptions): Step<ListeningServer> {
  return {
    name: "http",
    start: () =>
      listenOnePort({
        port: config.port,
        host: config.host,
        // Connect, gRPC and gRPC-Web bodies: connect-node stops reading, and inflating, at the limit.
        listener: splitByPath(
          capRpcDeadline(
            connectNodeAdapter({
              routes: services.routes,
              readMaxBytes: config.maxBodyBytes,
              interceptors: [reportingFailures(logger)],
            }),
            config.rpcTimeoutMs,
          ),
          services.rest,
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
    if (request.url?.startsWith("/ecommerce.")) rpc(request, response);
    else rest(request, response);
  };
}
