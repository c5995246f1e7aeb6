/**
 * `npm start`: reads the configuration, starts the platform, prints where to find it, and stops
 * cleanly on SIGINT / SIGTERM — within 10 s, exit code 1 when something had to be cut short
 * (docs/operations.md, "Shutdown").
 */
import { adminAssets } from "./admin/admin-assets.js";
import { startApp } from "./app.js";
import { mintToken } from "./platform/auth/index.js";
import { ConfigError, loadConfig } from "./platform/config.js";
import { createLogger } from "./platform/logger.js";

/** How long requests in progress at the signal get to finish before their connections are cut. */
const DRAIN_MS = 6_000;
/** When the process exits whatever is still running (leaving time for exiting itself before 10 s). */
const DEADLINE_MS = 8_000;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel, config.logFormat);
  const app = await startApp(config, logger);

  const shown = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const url = `http://${shown}:${app.port}`;
  const lines = [`ecommerce platform listening on ${url}`, `API reference: ${url}/docs`];
  if (config.modules.has("gateway") && app.generatedSecret) {
    const admin = await mintToken(app.jwtSecret, { sub: "admin", role: "admin", expiresIn: "30d" });
    const customer = await mintToken(app.jwtSecret, {
      sub: "customer-1",
      role: "customer",
      expiresIn: "30d",
    });
    lines.push(
      `admin UI:       ${url}/admin#token=${admin}`,
      `admin token:    ${admin}`,
      `customer token: ${customer}`,
    );
  }
  // Bundled now rather than at the first visit, so the first page view does not wait for it.
  if (config.modules.has("gateway"))
    adminAssets().catch((error: unknown) =>
      logger.error({ err: error }, "the admin UI could not be bundled"),
    );
  process.stdout.write(`${lines.join("\n")}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info({ signal }, "stopping");
    const deadline = setTimeout(() => {
      logger.error(
        { unfinished: app.stopProgress(), elapsedMs: Date.now() - started },
        `shutdown not finished after ${DEADLINE_MS} ms; exiting with this work abandoned`,
      );
      process.exit(1);
    }, DEADLINE_MS);
    deadline.unref();
    app.stop({ drainMs: DRAIN_MS }).then(
      ({ abandoned }) => {
        const elapsedMs = Date.now() - started;
        if (abandoned.length > 0) {
          logger.error({ abandoned, elapsedMs }, "stopped, with work abandoned");
          process.exit(1);
        }
        logger.info({ elapsedMs }, "stopped");
        process.exit(0);
      },
      (error) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
