/**
 * For test/embedded-start.test.ts: starts the embedded server of the DATA_DIR given as argument,
 * prints its postmaster's pid, then crashes with an uncaught exception, as a platform with a bug
 * would.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { startEmbeddedPostgres } from "../../src/platform/db/embedded-postgres.js";
import { createLogger } from "../../src/platform/logger.js";

const dataDir = process.argv[2] as string;
await startEmbeddedPostgres(dataDir, createLogger("warn"));
const pid = readFileSync(path.join(dataDir, "postgres", "postmaster.pid"), "utf8").split("\n")[0];
process.stdout.write(`server ${pid}\n`);
setTimeout(() => {
  throw new Error("a bug");
}, 10);
