import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { useFreshDatabase } from "../../test/support/database-test-setup.js";
import { loadConfig } from "../platform/config.js";
import { createLogger } from "../platform/logger.js";
import { Registry } from "../platform/metrics.js";
import { databaseStep } from "./platform-steps.js";

describe.skipIf(!process.env.DATABASE_URL)("the database step", () => {
  const fresh = useFreshDatabase();

  it("serves requests from at most DATABASE_POOL_SIZE connections, however many statements wait", async () => {
    const config = loadConfig({ DATABASE_URL: fresh.url, DATABASE_POOL_SIZE: "2" });
    const step = databaseStep({
      config,
      logger: createLogger("silent"),
      metrics: new Registry(),
      readiness: [],
    });
    const database = await step.start();
    try {
      // Twelve statements at once, each holding its connection for a moment.
      const answers = await Promise.all(
        Array.from({ length: 12 }, () =>
          database.db.execute(sql`select pg_backend_pid() as pid, pg_sleep(0.05)`),
        ),
      );
      const pids = new Set(answers.map((rows) => (rows as unknown as { pid: number }[])[0]?.pid));
      expect(pids.size).toBe(2);
    } finally {
      await database.close();
    }
  });
});
