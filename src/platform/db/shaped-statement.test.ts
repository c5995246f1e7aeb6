import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useFreshDatabase } from "../../../test/support/database-test-setup.js";
import { createLogger } from "../logger.js";
import { type Database, openDatabase } from "./database.js";
import { ShapedStatement } from "./shaped-statement.js";

describe.skipIf(!process.env.DATABASE_URL)("ShapedStatement on PostgreSQL", () => {
  const fresh = useFreshDatabase();
  let database: Database;

  beforeAll(async () => {
    database = await openDatabase({ url: fresh.url, dataDir: "unused", logger: createLogger("silent") });
  });
  afterAll(async () => {
    await database?.close();
  });

  /** `select` of `count` numbered values and a label; counts how often each shape is built. */
  function numbered() {
    const builds: number[] = [];
    const statement = new ShapedStatement<number>((count) => {
      builds.push(count);
      const values = Array.from({ length: count }, (_, index) => sql`(${sql.placeholder(`n${index}`)}::int)`);
      return sql`select ${sql.placeholder("label")}::text as label, sum(n)::int as total, count(*)::int as count
        from (values ${sql.join(values, sql`, `)}) v (n)`;
    }, String);
    return { statement, builds };
  }

  it("builds each shape once, and runs it with each call's values", async () => {
    const { statement, builds } = numbered();
    const rows = await statement.rows(database.db, 2, { label: "first", n0: 1, n1: 2 });
    expect(rows).toEqual([{ label: "first", total: 3, count: 2 }]);
    expect(await statement.rows(database.db, 2, { label: "second", n0: 10, n1: 20 })).toEqual([
      { label: "second", total: 30, count: 2 },
    ]);
    expect(await statement.rows(database.db, 3, { label: "third", n0: 1, n1: 1, n2: 1 })).toEqual([
      { label: "third", total: 3, count: 3 },
    ]);
    expect(await statement.rows(database.db, 2, { label: "fourth", n0: 5, n1: 5 })).toEqual([
      { label: "fourth", total: 10, count: 2 },
    ]);
    expect(builds).toEqual([2, 3]);
  });

  it("builds a shape again for another database handle, and refuses a missing value", async () => {
    const { statement, builds } = numbered();
    await statement.rows(database.db, 1, { label: "request pool", n0: 1 });
    expect(await statement.rows(database.backgroundDb, 1, { label: "background pool", n0: 2 })).toEqual([
      { label: "background pool", total: 2, count: 1 },
    ]);
    expect(builds).toEqual([1, 1]);
    await expect(statement.rows(database.db, 1, { label: "no n0" })).rejects.toThrow(/n0/);
  });
});
