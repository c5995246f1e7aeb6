import { sql } from "drizzle-orm";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { useFreshDatabase } from "../../../test/support/database-test-setup.js";
import { createLogger } from "../logger.js";
import { type Database, openDatabase } from "./database.js";
import { isDatabaseTimeout } from "./database-errors.js";

const logger = createLogger("silent");

describe("embedded database", () => {
  it("applies the migrations to a fresh PGlite", async () => {
    const database = await openDatabase({ url: undefined, dataDir: "memory://", logger });
    const rows = await database.db.execute(sql`select count(*)::int as n from inventory.products`);
    // The query fails outright when the migration did not create the table.
    expect(JSON.stringify(rows)).toContain('"n":0');
    await database.close();
  });
});

describe.skipIf(!process.env.DATABASE_URL)("statements on PostgreSQL", () => {
  const fresh = useFreshDatabase();

  it("prepares parameterized statements, in transactions too (drizzle alone sends them unprepared)", async () => {
    const database = await openDatabase({ url: fresh.url, dataDir: "unused", logger, maxConnections: 1 });
    try {
      await database.db.execute(sql`select ${"outside"}::text as marker_outside`);
      await database.db.transaction(async (tx) => {
        await tx.execute(sql`select ${"inside"}::text as marker_inside`);
      });
      // One connection, so this sees that session's prepared statements.
      const rows = (await database.db.execute(
        sql`select statement from pg_prepared_statements where statement like '%marker_%'`,
      )) as unknown as { statement: string }[];
      const prepared = rows.map((row) => row.statement).join("\n");
      expect(prepared).toContain("marker_outside");
      expect(prepared).toContain("marker_inside");
    } finally {
      await database.close();
    }
  });

  it("bounds request statements and lock waits, and background ones separately", async () => {
    const database = await openDatabase({
      url: fresh.url,
      dataDir: "unused",
      logger,
      requestLimits: { statementTimeoutMs: 200, lockTimeoutMs: 100 },
      backgroundLimits: { statementTimeoutMs: 5_000, lockTimeoutMs: 5_000 },
    });
    const holder = postgres(fresh.url, { max: 1, onnotice: () => {} });
    try {
      const slow = await database.db.execute(sql`select pg_sleep(1)`).catch((error: unknown) => error);
      expect(isDatabaseTimeout(slow)).toBe(true);
      // Background work may take longer.
      await database.backgroundDb.execute(sql`select pg_sleep(0.4)`);

      // A lock held elsewhere: the request gives up after its lock timeout.
      await database.db.execute(sql`create table if not exists locked_thing (id int primary key)`);
      await database.db.execute(sql`insert into locked_thing values (1) on conflict do nothing`);
      const reserved = await holder.reserve();
      await reserved`begin`;
      await reserved`select * from locked_thing for update`;
      const started = Date.now();
      const waited = await database.db
        .execute(sql`update locked_thing set id = 1 where id = 1`)
        .catch((error: unknown) => error);
      expect(isDatabaseTimeout(waited)).toBe(true);
      expect(Date.now() - started).toBeLessThan(1_000);
      await reserved`rollback`;
      reserved.release();
    } finally {
      await holder.end();
      await database.close();
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)("opening PostgreSQL", () => {
  const fresh = useFreshDatabase();

  it("keeps background work on a pool of its own, so it goes on while requests hold every connection", async () => {
    const database = await openDatabase({ url: fresh.url, dataDir: "unused", logger, maxConnections: 1 });
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      let holding: () => void = () => {};
      const holdingNow = new Promise<void>((resolve) => {
        holding = resolve;
      });
      // A request's transaction holds the main pool's only connection.
      const request = database.db.transaction(async (tx) => {
        await tx.execute(sql`select 1`);
        holding();
        await held;
      });
      await holdingNow;
      const background = database.backgroundDb.execute(sql`select 'moved on' as result`);
      const outcome = await Promise.race([
        background.then(() => "answered"),
        new Promise((resolve) => setTimeout(() => resolve("queued behind the request"), 2_000)),
      ]);
      expect(outcome).toBe("answered");
      release();
      await request;
    } finally {
      release();
      await database.close();
    }
  });

  it("run once when several processes start together (advisory lock)", async () => {
    const opened: Database[] = await Promise.all(
      Array.from({ length: 4 }, () =>
        openDatabase({ url: fresh.url, dataDir: "unused", logger, maxConnections: 2 }),
      ),
    );
    try {
      const first = opened[0] as Database;
      const applied = await first.db.execute(
        sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
      );
      const count = (applied as unknown as { n: number }[])[0]?.n;
      expect(count).toBeGreaterThanOrEqual(1);
      const migrationFiles = (await import("../../../drizzle/meta/_journal.json", { with: { type: "json" } }))
        .default.entries.length;
      expect(count).toBe(migrationFiles);
    } finally {
      await Promise.all(opened.map((database) => database.close()));
    }
  });
});
