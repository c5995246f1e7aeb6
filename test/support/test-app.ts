/**
 * Starts the platform for end-to-end tests in one of four set-ups; tests then talk to it over HTTP
 * and gRPC only, at `baseUrl`, and run unchanged against each:
 *
 * - "embedded": in this process, as `npm start` with nothing configured: a fresh database on the
 *   PostgreSQL server of the run (DATABASE_URL, or the embedded server the run started:
 *   embedded-database.ts), the in-process bus, the L1 cache only;
 * - "services": in this process, on a fresh database of the real PostgreSQL, with JetStream and
 *   Redis under a namespace of its own;
 * - "split": four child processes (inventory, orders, statistics, gateway) on such a deployment,
 *   started as `npm start` starts them; `baseUrl` is the gateway;
 * - "replicas": two full child processes on one such deployment behind a round-robin proxy, so
 *   consecutive requests alternate between them; `baseUrl` is the proxy.
 *
 * TEST_SETUPS (comma separated) chooses the set-ups suites run against; by default the in-process
 * ones this run can have (services when their URLs are given).
 */
import { type RunningApp, startApp } from "../../src/app.js";
import type { Role } from "../../src/platform/auth/principal.js";
import { loadConfig } from "../../src/platform/config.js";
import { createLogger } from "../../src/platform/logger.js";
import { createServiceDeployment, serviceUrls, TEST_SETTINGS, testToken } from "./deployment.js";
import { createTestDatabase, uniqueNamespace } from "./test-database.js";
import {
  type ReplicaTopology,
  type SplitTopology,
  startReplicaTopology,
  startSplitTopology,
} from "./topologies.js";

export { TEST_SECRET } from "./deployment.js";

export const IN_PROCESS_SETUPS = ["embedded", "services"] as const;
export const PROCESS_SETUPS = ["split", "replicas"] as const;
export type InProcessSetup = (typeof IN_PROCESS_SETUPS)[number];
export type ProcessSetup = (typeof PROCESS_SETUPS)[number];
export type Setup = InProcessSetup | ProcessSetup;

export interface TestApp {
  /** Where clients connect: the app itself, the split's gateway or the replicas' proxy. */
  baseUrl: string;
  namespace: string;
  /** The fresh PostgreSQL database of the set-ups on the real services. */
  databaseUrl: string | undefined;
  adminToken: string;
  customerToken: string;
  /** The credential of the platform's own processes (role `service`), as a module presents it. */
  serviceToken: string;
  /** A token for any user and role. */
  token(sub: string, role: Role): Promise<string>;
  stop(): Promise<void>;
}

/** An app running in this process, whose internals a test may reach into. */
export interface InProcessTestApp extends TestApp {
  app: RunningApp;
}

const SETUPS: readonly Setup[] = [...IN_PROCESS_SETUPS, ...PROCESS_SETUPS];

/**
 * The set-ups named in TEST_SETUPS, or else embedded always and services when their URLs are
 * given. A named set-up this run cannot have is an error, never a quiet skip.
 */
export function availableSetups(): Setup[] {
  const named = process.env.TEST_SETUPS?.split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  const missing = serviceUrls();
  if (named === undefined || named.length === 0)
    return Array.isArray(missing) ? ["embedded"] : ["embedded", "services"];
  for (const name of named) {
    if (!(SETUPS as readonly string[]).includes(name))
      throw new Error(`TEST_SETUPS: unknown set-up "${name}" (known: ${SETUPS.join(", ")})`);
    if (name !== "embedded" && Array.isArray(missing))
      throw new Error(`TEST_SETUPS: "${name}" needs ${missing.join(", ")}`);
  }
  return named as Setup[];
}

/**
 * The chosen set-ups that run the app in this process, for suites that inspect one process (its
 * metrics, its readiness checks, its internal services) rather than the deployment as a whole.
 */
export function inProcessSetups(): InProcessSetup[] {
  return availableSetups().filter((setup): setup is InProcessSetup =>
    (IN_PROCESS_SETUPS as readonly string[]).includes(setup),
  );
}

async function withTokens(
  app: Omit<TestApp, "adminToken" | "customerToken" | "serviceToken" | "token">,
): Promise<TestApp> {
  return {
    ...app,
    adminToken: await testToken("admin-1", "admin"),
    customerToken: await testToken("customer-1", "customer"),
    serviceToken: await testToken("service:test", "service"),
    token: testToken,
  };
}

export async function startTestApp(setup: Setup, env: Record<string, string> = {}): Promise<TestApp> {
  if (setup === "embedded" || setup === "services") return startInProcessApp(setup, env);
  return topologyTestApp(setup === "split" ? await startSplitTopology(env) : await startReplicaTopology(env));
}

/** A split or replica topology seen as one app: its front door, its deployment, test tokens. */
export function topologyTestApp(topology: SplitTopology | ReplicaTopology): Promise<TestApp> {
  return withTokens({
    baseUrl: topology.baseUrl,
    namespace: topology.deployment.namespace,
    databaseUrl: topology.deployment.databaseUrl,
    stop: () => topology.stop(),
  });
}

export async function startInProcessApp(
  setup: InProcessSetup,
  env: Record<string, string> = {},
): Promise<InProcessTestApp> {
  const deployment = setup === "services" ? await createServiceDeployment() : undefined;
  // A database of its own, unless the test names one, or a DATA_DIR whose embedded server to run.
  const database =
    setup === "embedded" &&
    process.env.DATABASE_URL &&
    env.DATA_DIR === undefined &&
    env.DATABASE_URL === undefined
      ? await createTestDatabase(process.env.DATABASE_URL)
      : undefined;
  const namespace = deployment?.namespace ?? uniqueNamespace();
  const settings: Record<string, string> = {
    PORT: "0",
    HOST: "127.0.0.1",
    ...TEST_SETTINGS,
    NAMESPACE: namespace,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    // In-memory PGlite only when the run has no PostgreSQL at all (vitest without its global setup).
    DATA_DIR: "memory://",
    ...(database && { DATABASE_URL: database.url }),
    ...deployment?.env,
  };
  const config = loadConfig({ ...settings, ...env });
  const app = await startApp(config, createLogger(config.logLevel));
  const started = await withTokens({
    baseUrl: `http://127.0.0.1:${app.port}`,
    namespace,
    databaseUrl: deployment?.databaseUrl ?? database?.url,
    stop: async () => {
      await app.stop();
      // This run's database and stream, on the NATS the app used.
      await deployment?.drop(config.natsUrl);
      await database?.drop();
    },
  });
  return { ...started, app };
}
