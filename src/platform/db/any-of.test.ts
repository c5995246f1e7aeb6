import { eq, sql } from "drizzle-orm";
import { PgDialect, pgSchema, text, uuid } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import { useFreshDatabase } from "../../../test/support/database-test-setup.js";
import { createLogger } from "../logger.js";
import { anyOf } from "./any-of.js";
import { type Database, openDatabase } from "./database.js";

const logger = createLogger("silent");
const scratch = pgSchema("any_of_test");
const rows = scratch.table("rows", { id: uuid("id").primaryKey(), label: text("label").notNull() });
const IDS = [
  "0190c0de-0000-7000-8000-000000000001",
  "0190c0de-0000-7000-8000-000000000002",
  "0190c0de-0000-7000-8000-000000000003",
];

/** The labels of the rows whose id is one of `ids`, by an update (as the batched statements do). */
async function touched(database: Database, ids: string[]): Promise<string[]> {
  const updated = await database.db
    .update(rows)
    .set({ label: sql`${rows.label}` })
    .where(anyOf(rows.id, ids))
    .returning({ label: rows.label });
  return updated.map((row) => row.label).sort();
}

async function withRows(database: Database): Promise<void> {
  await database.db.execute(sql`create schema if not exists any_of_test`);
  await database.db.execute(
    sql`create table if not exists any_of_test.rows (id uuid primary key, label text not null)`,
  );
  await database.db.execute(sql`truncate any_of_test.rows`);
  await database.db.insert(rows).values(IDS.map((id, index) => ({ id, label: `row ${index + 1}` })));
}

describe("anyOf", () => {
  it("writes one statement text whatever the number of values", () => {
    const dialect = new PgDialect();
    const texts = [1, 2, 50].map(
      (count) =>
        dialect.sqlToQuery(anyOf(rows.id, IDS.slice(0, 1).concat(Array(count - 1).fill(IDS[1])))).sql,
    );
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]).toBe('"any_of_test"."rows"."id" = any($1)');
  });

  it("matches the listed rows on the embedded database (PGlite)", async () => {
    const database = await openDatabase({ url: undefined, dataDir: "memory://", logger });
    try {
      await withRows(database);
      expect(await touched(database, [IDS[0] as string, IDS[2] as string])).toEqual(["row 1", "row 3"]);
      expect(await touched(database, [])).toEqual([]);
    } finally {
      await database.close();
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)("anyOf on PostgreSQL", () => {
  const fresh = useFreshDatabase();

  it("matches the listed rows, and every batch size shares one prepared statement", async () => {
    // One connection, so pg_prepared_statements below is the session that ran the updates.
    const database = await openDatabase({ url: fresh.url, dataDir: "unused", logger, maxConnections: 1 });
    try {
      await withRows(database);
      expect(await touched(database, [IDS[1] as string])).toEqual(["row 2"]);
      expect(await touched(database, IDS)).toEqual(["row 1", "row 2", "row 3"]);
      expect(await touched(database, [])).toEqual([]);
      const prepared = (await database.db.execute(
        sql`select statement from pg_prepared_statements where statement like '%any_of_test%= any%'`,
      )) as unknown as { statement: string }[];
      expect(prepared).toHaveLength(1);
      // The row untouched by the first call kept its label (the update matched by id only).
      const [second] = await database.db
        .select()
        .from(rows)
        .where(eq(rows.id, IDS[1] as string));
      expect(second?.label).toBe("row 2");
    } finally {
      await database.close();
    }
  });
});
