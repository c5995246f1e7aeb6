/**
 * What every test deployment on the real services gets, however many processes it runs: a fresh
 * PostgreSQL database, a namespace of its own on the shared NATS and Redis, the test JWT secret;
 * and, when it stops, the database dropped and its JetStream stream deleted.
 */
import { connect } from "nats";
import { mintToken } from "../../src/platform/auth/mint-token.js";
import type { Role } from "../../src/platform/auth/principal.js";
import { streamNameFor } from "../../src/platform/events/jetstream-bus.js";
import { createTestDatabase, uniqueNamespace } from "./test-database.js";

export const TEST_SECRET = "test-secret-that-is-long-enough-for-hs256";

/**
 * Settings every test deployment shares. Suites place hundreds of orders as one test customer and
 * leave them pending, so the pending-order limit is lifted; the suites about it set their own.
 */
export const TEST_SETTINGS = { JWT_SECRET: TEST_SECRET, MAX_PENDING_ORDERS: "100000" } as const;

/**
 * A token for any user and role, signed with {@link TEST_SECRET}; role "service" is the credential
 * the platform's processes mint for each other (tests stand in for a module with it).
 */
export function testToken(sub: string, role: Role): Promise<string> {
  return mintToken(TEST_SECRET, { sub, role, expiresIn: "1h" });
}

export async function deleteStream(natsUrl: string, namespace: string): Promise<void> {
  const nc = await connect({ servers: natsUrl, timeout: 2000 }).catch(() => undefined);
  if (nc === undefined) return;
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(streamNameFor(namespace)).catch(() => {});
  } finally {
    await nc.close();
  }
}

/**
 * How many events the deployment's stream holds on `subject` (relative to the namespace): one per
 * event id, as the broker drops repeats. The outbox keeps a row only until it is published.
 */
export async function eventsOnStream(natsUrl: string, namespace: string, subject: string): Promise<number> {
  const nc = await connect({ servers: natsUrl, timeout: 2000 });
  try {
    const jsm = await nc.jetstreamManager();
    const full = `${namespace}.${subject}`;
    const info = await jsm.streams.info(streamNameFor(namespace), { subjects_filter: full });
    return info.state.subjects?.[full] ?? 0;
  } finally {
    await nc.close();
  }
}

/** The real services this run was given, or the names of the variables that are missing. */
export function serviceUrls(): { databaseUrl: string; natsUrl: string; redisUrl: string } | string[] {
  const { DATABASE_URL, NATS_URL, REDIS_URL } = process.env;
  if (DATABASE_URL && NATS_URL && REDIS_URL)
    return { databaseUrl: DATABASE_URL, natsUrl: NATS_URL, redisUrl: REDIS_URL };
  return Object.entries({ DATABASE_URL, NATS_URL, REDIS_URL })
    .filter(([, value]) => !value)
    .map(([name]) => name);
}

/** Whether DATABASE_URL, NATS_URL and REDIS_URL are all given (the suites on the real services run). */
export function hasServiceUrls(): boolean {
  return !Array.isArray(serviceUrls());
}

export interface ServiceDeployment {
  namespace: string;
  databaseUrl: string;
  /** DATABASE_URL, NATS_URL, REDIS_URL, NAMESPACE and JWT_SECRET for every process of it. */
  env: Record<string, string>;
  /**
   * Drops the database and deletes the stream (the shared NATS keeps streams for good), on the
   * given NATS when the deployment was pointed at another one.
   */
  drop(natsUrl?: string): Promise<void>;
}

export async function createServiceDeployment(): Promise<ServiceDeployment> {
  const urls = serviceUrls();
  if (Array.isArray(urls)) throw new Error(`the real services need ${urls.join(", ")}`);
  const namespace = uniqueNamespace();
  const database = await createTestDatabase(urls.databaseUrl);
  return {
    namespace,
    databaseUrl: database.url,
    env: {
      DATABASE_URL: database.url,
      NATS_URL: urls.natsUrl,
      REDIS_URL: urls.redisUrl,
      NAMESPACE: namespace,
      ...TEST_SETTINGS,
    },
    drop: async (natsUrl = urls.natsUrl) => {
      await database.drop();
      await deleteStream(natsUrl, namespace);
    },
  };
}
