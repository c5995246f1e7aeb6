/**
 * Starts the whole platform in this process on a free port, in one of two set-ups: "embedded"
 * (in-memory PGlite, in-process bus, L1 cache only) or "services" (a fresh database on the real
 * PostgreSQL, JetStream and Redis under a namespace of its own). Tests then talk to it over HTTP
 * and gRPC only.
 */

import { connect } from "nats";
import { type RunningApp, startApp } from "../../src/app.js";
import { mintToken } from "../../src/platform/auth/mint-token.js";
import { loadConfig } from "../../src/platform/config.js";
import { streamNameFor } from "../../src/platform/events/jetstream-bus.js";
import { createLogger } from "../../src/platform/logger.js";
import { createTestDatabase, type TestDatabase, uniqueNamespace } from "./test-database.js";

async function deleteStream(natsUrl: string, namespace: string): Promise<void> {
  const nc = await connect({ servers: natsUrl, timeout: 2000 }).catch(() => undefined);
  if (nc === undefined) return;
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(streamNameFor(namespace)).catch(() => {});
  } finally {
    await nc.close();
  }
}

export type Setup = "embedded" | "services";

export interface TestApp {
  baseUrl: string;
  app: RunningApp;
  namespace: string;
  /** The fresh PostgreSQL database of the "services" setup. */
  databaseUrl: string | undefined;
  adminToken: string;
  customerToken: string;
  /** A token for any user and role. */
  token(sub: string, role: "admin" | "customer"): Promise<string>;
  stop(): Promise<void>;
}

export const TEST_SECRET = "test-secret-that-is-long-enough";

/** Which set-ups this run can exercise: embedded always, services when their URLs are given. */
export function availableSetups(): Setup[] {
  const services = Boolean(process.env.DATABASE_URL && process.env.NATS_URL && process.env.REDIS_URL);
  return services ? ["embedded", "services"] : ["embedded"];
}

export async function startTestApp(setup: Setup, env: Record<string, string> = {}): Promise<TestApp> {
  const namespace = uniqueNamespace();
  let database: TestDatabase | undefined;
  const settings: Record<string, string> = {
    PORT: "0",
    HOST: "127.0.0.1",
    JWT_SECRET: TEST_SECRET,
    NAMESPACE: namespace,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    DATA_DIR: "memory://",
  };
  if (setup === "services") {
    database = await createTestDatabase(process.env.DATABASE_URL as string);
    settings.DATABASE_URL = database.url;
    settings.NATS_URL = process.env.NATS_URL as string;
    settings.REDIS_URL = process.env.REDIS_URL as string;
  }
  const config = loadConfig({ ...settings, ...env });
  const app = await startApp(config, createLogger(config.logLevel));
  const token = (sub: string, role: "admin" | "customer") =>
    mintToken(TEST_SECRET, { sub, role, expiresIn: "1h" });
  return {
    baseUrl: `http://127.0.0.1:${app.port}`,
    app,
    namespace,
    databaseUrl: database?.url,
    adminToken: await token("admin-1", "admin"),
    customerToken: await token("customer-1", "customer"),
    token,
    stop: async () => {
      await app.stop();
      await database?.drop();
      // The shared NATS keeps streams for good: remove this run's.
      if (config.natsUrl) await deleteStream(config.natsUrl, namespace);
    },
  };
}
