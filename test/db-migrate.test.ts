/**
 * `npm run db:migrate` (src/cli/migrate.ts): applies every migration of drizzle/ to the configured
 * database and exits, as a deploy pipeline runs it before a rollout; running it again changes
 * nothing; an unreachable database fails it with one line.
 */
import { readFileSync } from "node:fs";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runChildToExit } from "./support/child-app.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";

const journal = JSON.parse(
  readFileSync(new URL("../drizzle/meta/_journal.json", import.meta.url), "utf8"),
) as {
  entries: unknown[];
};
let database: TestDatabase;

beforeAll(async () => {
  // DATABASE_URL is the machine's server, or the embedded one the run started (embedded-database.ts).
  database = await createTestDatabase(process.env.DATABASE_URL as string);
});
afterAll(() => database.drop());

async function appliedMigrations(): Promise<number> {
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ count: string }[]>`select count(*) from drizzle.__drizzle_migrations`;
    return Number(row?.count);
  } finally {
    await sql.end();
  }
}

describe("npm run db:migrate", () => {
  it("applies every migration and exits; a second run applies nothing more", async () => {
    const env = { DATABASE_URL: database.url, LOG_LEVEL: "warn" };
    const first = await runChildToExit(env, "src/cli/migrate.ts");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("migrations applied");
    expect(await appliedMigrations()).toBe(journal.entries.length);

    const second = await runChildToExit(env, "src/cli/migrate.ts");
    expect(second.code, second.stderr).toBe(0);
    expect(await appliedMigrations()).toBe(journal.entries.length);
  }, 60_000);

  it("fails with one line when the database cannot be reached", async () => {
    const { code, stderr } = await runChildToExit(
      { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none", LOG_LEVEL: "warn" },
      "src/cli/migrate.ts",
    );
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
  }, 60_000);
});
