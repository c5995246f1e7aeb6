/**
 * Test setup for the suites that need a database (not a test file itself): a fresh PostgreSQL
 * database on the server DATABASE_URL points at, or an in-memory PGlite.
 */
import { afterAll, beforeAll } from "vitest";
import type { Db } from "../../src/platform/db/database.js";
import { openTestPglite } from "./event-test-support.js";
import { createTestDatabase } from "./test-database.js";

/** Opened before the enclosing suite's (or test file's) first test, closed after its last. */
function useForSuite<T>(what: string, open: () => Promise<T>, close: (opened: T) => Promise<void>): () => T {
  let opened: T | undefined;
  beforeAll(async () => {
    opened = await open();
  });
  afterAll(async () => {
    if (opened !== undefined) await close(opened);
  });
  return () => {
    if (opened === undefined) throw new Error(`${what} is set up in beforeAll`);
    return opened;
  };
}

/** A database of the enclosing suite's own on DATABASE_URL's server, dropped after its last test. */
export function useFreshDatabase(): { readonly url: string } {
  const fresh = useForSuite(
    "the fresh database",
    () => createTestDatabase(process.env.DATABASE_URL as string),
    (database) => database.drop(),
  );
  return {
    get url() {
      return fresh().url;
    },
  };
}

/**
 * An in-memory PGlite with the migrations applied. Opening one takes seconds: call it once for a
 * whole test file rather than for each suite.
 */
export function usePglite(): { readonly db: Db } {
  const database = useForSuite("the PGlite database", openTestPglite, (opened) => opened.close());
  return {
    get db() {
      return database().db;
    },
  };
}
