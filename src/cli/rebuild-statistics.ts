/**
 * `npm run stats:rebuild`: empties the statistics projection and has it replay the event stream
 * from the start. Running processes pick the replay up on their own; the figures converge to the
 * live ones as the replay catches up. Needs NATS_URL: without it there is no stream to replay.
 */
import { rebuildStatistics } from "../modules/statistics/index.js";
import { ConfigError, loadConfig } from "../platform/config.js";
import { openDatabase } from "../platform/db/index.js";
import { createLogger } from "../platform/logger.js";

try {
  const config = loadConfig(process.env);
  if (config.natsUrl === undefined) {
    throw new ConfigError(
      "NATS_URL",
      "a rebuild replays the JetStream stream; without NATS there is no stream to replay",
    );
  }
  const logger = createLogger(config.logLevel, config.logFormat);
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, logger });
  try {
    await rebuildStatistics({ db: database.db, natsUrl: config.natsUrl, namespace: config.namespace });
  } finally {
    await database.close();
  }
  process.stdout.write("statistics emptied; the projection is replaying the event stream\n");
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
