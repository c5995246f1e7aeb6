/**
 * Vitest global setup. With no DATABASE_URL (a machine with nothing installed), the suites that
 * need PostgreSQL run on the platform's own embedded server (src/platform/db/embedded-postgres.ts),
 * started here once for the whole run under a temporary DATA_DIR and stopped at its end: every
 * concurrency and locking suite runs everywhere, not only where a server is configured. Each suite
 * still creates its own database on it (test-database.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startEmbeddedPostgres } from "../../src/platform/db/embedded-postgres.js";
import { createLogger } from "../../src/platform/logger.js";

export default async function embeddedDatabase(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.DATABASE_URL) return undefined;
  const dataDir = mkdtempSync(path.join(tmpdir(), "test-postgres-"));
  const server = await startEmbeddedPostgres(dataDir, createLogger("warn"));
  // Test files run in forked workers, which inherit this environment.
  process.env.DATABASE_URL = server.url;
  return async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
