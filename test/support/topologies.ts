/**
 * The platform as separate processes started the way `npm start` starts it, on one fresh
 * deployment (database, namespace) of the real PostgreSQL, NATS and Redis:
 *
 * - split: four processes, MODULES=inventory, orders, statistics and gateway, wired by *_URL as
 *   in docs/api.md's split example; the gateway is the front door.
 * - replicas: full processes (default MODULES) side by side behind a round-robin proxy, so that
 *   consecutive requests alternate between them.
 * - one process: the whole platform (default MODULES), for suites that read its output.
 *
 * Every process of a topology starts at once: the module processes get free ports chosen up
 * front, so the processes calling them know their URLs before they listen.
 */
import { type ChildApp, freePorts, startChildApp } from "./child-app.js";
import { createServiceDeployment, type ServiceDeployment } from "./deployment.js";
import { type RoundRobinProxy, startRoundRobinProxy } from "./round-robin-proxy.js";

export const SPLIT_MODULES = ["inventory", "orders", "statistics", "gateway"] as const;
export type SplitModule = (typeof SPLIT_MODULES)[number];

export interface SplitTopology {
  deployment: ServiceDeployment;
  /** The process hosting each module; replaced by {@link SplitTopology.restart}. */
  processes: Record<SplitModule, ChildApp>;
  /** The gateway's URL. */
  baseUrl: string;
  /** Starts that module's process again, same environment and port, once it has stopped. */
  restart(module: SplitModule): Promise<ChildApp>;
  stop(): Promise<void>;
}

export interface OneProcess {
  deployment: ServiceDeployment;
  app: ChildApp;
  /** Stops the process and drops the deployment; calling it again returns the same promise. */
  stop(): Promise<void>;
}

export interface ReplicaTopology {
  deployment: ServiceDeployment;
  replicas: ChildApp[];
  proxy: RoundRobinProxy;
  /** The proxy's URL. */
  baseUrl: string;
  stop(): Promise<void>;
}

const local = (port: number | string) => `http://127.0.0.1:${port}`;

/** What docker-compose.yml's split profile gives each process (docs/operations.md). */
export const SPLIT_NODE_OPTIONS = "--v8-pool-size=1";

function processEnv(deployment: ServiceDeployment, env: Record<string, string>): Record<string, string> {
  return {
    ...deployment.env,
    HOST: "127.0.0.1",
    DATA_DIR: "memory://",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
    ...env,
  };
}

/**
 * Starts every process at once; if one fails, stops the others, drops the deployment and throws.
 */
async function startAll(deployment: ServiceDeployment, envs: Record<string, string>[]): Promise<ChildApp[]> {
  const started = await Promise.allSettled(envs.map((env) => startChildApp(env)));
  const failed = started.find((result) => result.status === "rejected");
  if (failed === undefined)
    return started.map((result) => (result as PromiseFulfilledResult<ChildApp>).value);
  await Promise.all(
    started.map((result) => (result.status === "fulfilled" ? result.value.stop() : undefined)),
  );
  await deployment.drop();
  throw failed.reason;
}

/** Stops every process (showing what one that had already exited printed) and drops the deployment. */
async function stopAll(deployment: ServiceDeployment, children: ChildApp[]): Promise<void> {
  for (const child of children) {
    const { exitCode, signalCode } = child.process;
    if (exitCode !== null || signalCode !== null)
      console.error(
        `MODULES=${child.env.MODULES ?? "(all)"} exited before the topology was stopped (${exitCode ?? signalCode}):\n${child.output()}\n${child.errors()}`,
      );
  }
  await Promise.all(children.map((child) => child.stop()));
  await deployment.drop();
}

/** The whole platform in one process, on a deployment of its own; `env` adds to its environment. */
export async function startOneProcess(env: Record<string, string> = {}): Promise<OneProcess> {
  const deployment = await createServiceDeployment();
  const [app] = (await startAll(deployment, [processEnv(deployment, { PORT: "0", ...env })])) as [ChildApp];
  let stopped: Promise<void> | undefined;
  return {
    deployment,
    app,
    stop: () => {
      stopped ??= stopAll(deployment, [app]);
      return stopped;
    },
  };
}

export async function startSplitTopology(env: Record<string, string> = {}): Promise<SplitTopology> {
  const deployment = await createServiceDeployment();
  const [inventoryPort, ordersPort, statisticsPort] = (await freePorts(3)) as [number, number, number];
  // As docker-compose.yml's split profile runs them: four processes sharing one host's cores.
  const nodeOptions = [process.env.NODE_OPTIONS, SPLIT_NODE_OPTIONS].filter(Boolean).join(" ");
  const common = processEnv(deployment, { NODE_OPTIONS: nodeOptions, ...env });
  const envs: Record<SplitModule, Record<string, string>> = {
    inventory: { ...common, MODULES: "inventory", PORT: String(inventoryPort) },
    orders: {
      ...common,
      MODULES: "orders",
      PORT: String(ordersPort),
      INVENTORY_URL: local(inventoryPort),
    },
    statistics: { ...common, MODULES: "statistics", PORT: String(statisticsPort) },
    gateway: {
      ...common,
      MODULES: "gateway",
      PORT: "0",
      INVENTORY_URL: local(inventoryPort),
      ORDERS_URL: local(ordersPort),
      STATISTICS_URL: local(statisticsPort),
    },
  };
  const children = await startAll(
    deployment,
    SPLIT_MODULES.map((module) => envs[module]),
  );
  const processes = Object.fromEntries(
    SPLIT_MODULES.map((module, index) => [module, children[index]]),
  ) as Record<SplitModule, ChildApp>;
  return {
    deployment,
    processes,
    baseUrl: processes.gateway.url,
    restart: async (module) => {
      const previous = processes[module];
      await previous.stop();
      // Same port as before (a module's callers keep its URL); the gateway's was chosen at start.
      processes[module] = await startChildApp({ ...previous.env, PORT: String(previous.port) });
      return processes[module];
    },
    stop: () => stopAll(deployment, Object.values(processes)),
  };
}

export async function startReplicaTopology(
  env: Record<string, string> = {},
  count = 2,
): Promise<ReplicaTopology> {
  const deployment = await createServiceDeployment();
  const replicas = await startAll(
    deployment,
    Array.from({ length: count }, () => processEnv(deployment, { PORT: "0", ...env })),
  );
  const proxy = await startRoundRobinProxy(replicas.map((replica) => replica.url));
  return {
    deployment,
    replicas,
    proxy,
    baseUrl: proxy.url,
    stop: async () => {
      await proxy.stop();
      await stopAll(deployment, replicas);
    },
  };
}
