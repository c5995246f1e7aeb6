/**
 * For test/embedded-start.test.ts: starts the embedded server of the DATA_DIR given as argument,
 * prints its postmaster's pid, then crashes with an uncaught exception, as a platform with a bug
 * would.
 */
import { runningServerPid, startEmbeddedPostgres } from "../../src/platform/db/embedded-postgres.js";
import { createLogger } from "../../src/platform/logger.js";

const dataDir = process.argv[2] as string;
await startEmbeddedPostgres(dataDir, createLogger("warn"));
process.stdout.write(`server ${runningServerPid(dataDir)}\n`);
setTimeout(() => {
  throw new Error("a bug");
}, 10);
