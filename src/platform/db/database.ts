/**
 * Opens the one database the process uses: a PostgreSQL server through postgres.js, the one
 * DATABASE_URL names or, without one, the embedded server under the data directory
 * (embedded-postgres.ts). Pending migrations from drizzle/ are applied before anything else
 * touches it.
 */

import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { DEFAULT_DATABASE_POOL_SIZE } from "../config.js";
import type { Logger } from "../logger.js";
import { activeTracer } from "../observability/tracing.js";
import { readServerIdentity } from "./database-server-identity.js";
import { startEmbeddedPostgres } from "./embedded-postgres.js";
import { tracedStatement } from "./statement-spans.js";

/** The drizzle handle every module's store is written against, whichever driver is behind it. */
export type Db = PgDatabase<PgQueryResultHKT>;
/** A transaction handle as drizzle passes it to `db.transaction(tx => …)`. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

export interface Database {
  /** For work done on behalf of a request. */
  readonly db: Db;
  /**
   * For background work that moves events on (outbox relays, event consumers): on PostgreSQL a
   * small pool of its own, so that this work never queues behind a burst of requests holding
   * every connection of the main pool (events would fall behind exactly when they are produced
   * fastest). The same handle as `db` on PGlite.
   */
  readonly backgroundDb: Db;
  readonly kind: "postgres" | "pglite";
  /**
   * The PostgreSQL server this is (database-server-identity.ts): equal in two processes only when
   * both store their data on this very server. Undefined on PGlite.
   */
  readonly serverIdentity: string | undefined;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /**
   * postgres:// URL; undefined starts the embedded server of dataDir (embedded-postgres.ts), or,
   * for dataDir MEMORY ("memory://", unit tests), an in-memory PGlite.
   */
  url: string | undefined;
  dataDir: string;
  logger: Logger;
  /** Connection pool size for PostgreSQL (requests); DATABASE_POOL_SIZE's default when not given. */
  maxConnections?: number;
  /** Connection pool size for PostgreSQL (background work, see {@link Database.backgroundDb}). */
  maxBackgroundConnections?: number;
  /**
   * Longest a statement made for a request may run, and wait for a lock, on PostgreSQL; none by
   * default. See {@link requestStatementLimits}.
   */
  requestLimits?: StatementLimits;
  /** The same for background work (relays, consumers, sweeps), which may take longer. */
  backgroundLimits?: StatementLimits;
}

export interface StatementLimits {
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

/**
 * The request pool's limits for a module deadline of `rpcTimeoutMs`: a statement gets half of it
 * and a lock wait a quarter, so that a request stuck on one fails (deadline_exceeded) while the
 * module still has time to undo what it had done, before its caller gives up on it; and a handful
 * of slow statements cannot hold the pool's connections for longer than that.
 */
export function requestStatementLimits(rpcTimeoutMs: number): StatementLimits {
  return { statementTimeoutMs: Math.ceil(rpcTimeoutMs / 2), lockTimeoutMs: Math.ceil(rpcTimeoutMs / 4) };
}

/** Background work: a minute per statement, ten seconds per lock wait. */
export const BACKGROUND_STATEMENT_LIMITS: StatementLimits = {
  statementTimeoutMs: 60_000,
  lockTimeoutMs: 10_000,
};

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../../drizzle", import.meta.url));

/** `dataDir` for a throwaway in-memory PGlite (unit tests only). */
export const MEMORY = "memory://";

/** Any fixed key works; it only has to be the same in every process sharing the database. */
const MIGRATION_LOCK_KEY = 7_316_542_019;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const postgresOptions = {
    maxConnections: options.maxConnections ?? DEFAULT_DATABASE_POOL_SIZE,
    maxBackgroundConnections: options.maxBackgroundConnections ?? 3,
    requestLimits: options.requestLimits,
    backgroundLimits: options.backgroundLimits,
  };
  let database: Database;
  if (options.url) database = await openPostgres(options.url, postgresOptions);
  else if (options.dataDir === MEMORY) database = await openPglite();
  else database = await openEmbedded(options.dataDir, options.logger, postgresOptions);
  options.logger.debug({ kind: database.kind }, "database open, applying migrations");
  return database;
}

/** The embedded server of DATA_DIR (embedded-postgres.ts), stopped once the pools are closed. */
async function openEmbedded(
  dataDir: string,
  logger: Logger,
  options: Parameters<typeof openPostgres>[1],
): Promise<Database> {
  const server = await startEmbeddedPostgres(dataDir, logger);
  let database: Database;
  try {
    database = await openPostgres(server.url, options);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    ...database,
    close: async () => {
      try {
        await database.close();
      } finally {
        await server.stop();
      }
    },
  };
}

async function openPostgres(
  url: string,
  options: {
    maxConnections: number;
    maxBackgroundConnections: number;
    requestLimits: StatementLimits | undefined;
    backgroundLimits: StatementLimits | undefined;
  },
): Promise<Database> {
  // Limits are session settings sent when each connection opens: no statement of ours pays for them.
  const pool = (max: number, name: string, limits: StatementLimits | undefined) =>
    postgres(url, {
      max,
      onnotice: () => {},
      connection: {
        application_name: name,
        ...(limits && { statement_timeout: limits.statementTimeoutMs, lock_timeout: limits.lockTimeoutMs }),
      },
    });
  const client = pool(options.maxConnections, "ecommerce", options.requestLimits);
  const backgroundClient = pool(
    options.maxBackgroundConnections,
    "ecommerce-background",
    options.backgroundLimits,
  );
  const db = drizzlePostgres({ client: preparingStatements(client) }) as unknown as Db;
  const backgroundDb = drizzlePostgres({ client: preparingStatements(backgroundClient) }) as unknown as Db;
  // Migrations run on a connection of their own, with no time limit (an index on a big table takes
  // what it takes), under a session-level advisory lock, so processes starting together apply
  // them one after the other; the later ones then find nothing pending.
  const lock = postgres(url, { max: 1, onnotice: () => {} });
  let serverIdentity: string | undefined;
  try {
    await lock`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await migratePostgres(drizzlePostgres({ client: lock }), { migrationsFolder: MIGRATIONS_FOLDER });
    await lock`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    serverIdentity = await readServerIdentity(lock);
  } finally {
    await lock.end();
  }
  return {
    db,
    backgroundDb,
    kind: "postgres",
    serverIdentity,
    ping: async () => {
      await client`select 1`;
    },
    close: async () => {
      await Promise.all([client.end({ timeout: 5 }), backgroundClient.end({ timeout: 5 })]);
    },
  };
}

/**
 * drizzle sends every statement unprepared unless it is given a name, so PostgreSQL parses and
 * plans each one again on every call: measured on the order path, that was most of the server's
 * CPU per order. Statements with parameters are prepared instead (postgres.js keeps them per
 * connection, keyed by their text; ours have a bounded number of shapes), in transactions too.
 * While tracing is on, each statement also gets its span here (statement-spans.ts).
 */
function preparingStatements(client: postgres.Sql): postgres.Sql {
  type Unsafe = postgres.Sql["unsafe"];
  // What a statement's span says of the server it went to (statement-spans.ts).
  const server = {
    host: client.options.host[0] ?? "",
    port: client.options.port[0] ?? 5432,
    database: client.options.database,
  };
  const traced = <Q extends PromiseLike<unknown>>(pending: Q, text: string): Q => {
    const tracer = activeTracer();
    return tracer === undefined ? pending : tracedStatement(tracer, pending, text, server);
  };
  const wrap = (sql: postgres.Sql): postgres.Sql =>
    new Proxy(sql, {
      get(target, property, receiver) {
        if (property === "unsafe") {
          const unsafe: Unsafe = (query, parameters, options) =>
            traced(
              target.unsafe(query, parameters, {
                ...options,
                prepare: parameters !== undefined && parameters.length > 0,
              }),
              query,
            );
          return unsafe;
        }
        if (property === "begin") {
          return (...args: unknown[]) => {
            const callback = args.pop() as (tx: postgres.Sql) => unknown;
            return (target.begin as (...a: unknown[]) => unknown)(...args, (tx: postgres.Sql) =>
              callback(wrap(tx)),
            );
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
  return wrap(client);
}

/**
 * PGlite (PostgreSQL compiled to WebAssembly) in memory: for unit tests only, where a throwaway
 * database per suite in a few hundred milliseconds earns its place. It runs one transaction at a
 * time, so nothing about concurrency is proven on it; the runtime never uses it (embedded-postgres.ts).
 */
async function openPglite(): Promise<Database> {
  // Loaded here, not at the top: the runtime never pays for PGlite's module.
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("drizzle-orm/pglite"),
    import("drizzle-orm/pglite/migrator"),
  ]);
  const client = await PGlite.create(MEMORY);
  const db = drizzlePglite({ client }) as unknown as Db;
  // PGlite is single-connection and owned by this process alone, so no lock is needed.
  await migratePglite(db as never, { migrationsFolder: MIGRATIONS_FOLDER });
  return {
    db,
    backgroundDb: db,
    kind: "pglite",
    serverIdentity: undefined,
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.close(),
  };
}
