/**
 * `npm run db:migrate`: applies the pending migrations from drizzle/ to the database the process
 * would use (DATABASE_URL, or the embedded server under DATA_DIR) and exits: for deploy pipelines
 * that migrate before rolling out. Every process also applies them at start, under an advisory
 * lock, so this step is optional.
 */
import { loadConfig } from "../platform/config.js";
import { openDatabase } from "../platform/db/index.js";
import { createLogger } from "../platform/logger.js";

try {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel, config.logFormat);
  // Opening applies what is pending (database.ts).
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, logger });
  await database.close();
  process.stdout.write("migrations applied\n");
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
