import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../platform/db/database.js";
import { uuidv7 } from "../../platform/ids.js";
import { createLogger } from "../../platform/logger.js";
import { INBOX_RETENTION_MS, purgeInbox } from "./inbox-retention.js";
import { inbox } from "./schema.js";

const DAY = 24 * 60 * 60 * 1000;

describe("statistics inbox retention", () => {
  let database: Database;

  beforeAll(async () => {
    database = await openDatabase({ url: undefined, dataDir: "memory://", logger: createLogger("silent") });
  });
  afterAll(async () => {
    await database?.close();
  });
  beforeEach(async () => {
    await database.db.execute(sql`truncate statistics.inbox`);
  });

  /** Inserts one inbox row per age (days before `newest`) and returns their ids in the same order. */
  async function applied(newest: Date, ...daysBefore: number[]): Promise<string[]> {
    const rows = daysBefore.map((days) => ({
      eventId: uuidv7(),
      appliedAt: new Date(newest.getTime() - days * DAY),
    }));
    await database.db.insert(inbox).values(rows);
    return rows.map((row) => row.eventId);
  }

  const remaining = async () =>
    (await database.db.select({ id: inbox.eventId }).from(inbox)).map((row) => row.id).sort();

  it("finds the newest id and the old ones through an index, not by scanning the inbox", async () => {
    await applied(new Date(), 0, 1, 9);
    // Whatever the planner would pick for a table this small: is there an index to use at all?
    const plans = await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      const plan = async (query: ReturnType<typeof sql>) =>
        JSON.stringify(await tx.execute(sql`explain ${query}`));
      return [
        await plan(sql`select max(applied_at) from statistics.inbox`),
        await plan(
          sql`select event_id from statistics.inbox where applied_at < now() - interval '7 days' limit 5000`,
        ),
      ];
    });
    for (const plan of plans) expect(plan).toContain("inbox_applied_at_idx");
  });

  it("keeps a week of event ids, comfortably beyond every way an event can come again", () => {
    expect(INBOX_RETENTION_MS).toBe(7 * DAY);
    // JetStream's duplicate window is 10 minutes; redeliveries of a failing event stop after ~20.
    expect(INBOX_RETENTION_MS).toBeGreaterThan(100 * 20 * 60 * 1000);
  });

  it("deletes the ids applied more than a week before the newest, and only those", async () => {
    const now = new Date();
    const [ancient, justOver, justUnder, yesterday, newest] = await applied(now, 30, 7.01, 6.99, 1, 0);
    expect(await purgeInbox(database.db)).toBe(2);
    expect(await remaining()).toEqual([justUnder, yesterday, newest].sort());
    expect(await remaining()).not.toContain(ancient);
    expect(await remaining()).not.toContain(justOver);
  });

  it("counts the week from the newest applied event, so time spent down does not age anything", async () => {
    // Nothing was applied for two months (the platform was down): every row is older than a
    // week by the clock, yet a week of the projection's own history stays.
    const newest = new Date(Date.now() - 60 * DAY);
    const [old, recent, last] = await applied(newest, 8, 3, 0);
    expect(await purgeInbox(database.db)).toBe(1);
    expect(await remaining()).toEqual([recent, last].sort());
    expect(await remaining()).not.toContain(old);
  });

  it("purges a large backlog in chunks, and an empty inbox is a no-op", async () => {
    expect(await purgeInbox(database.db)).toBe(0);
    await applied(new Date(), 0);
    await applied(new Date(), ...Array.from({ length: 23 }, (_, i) => 8 + i));
    expect(await purgeInbox(database.db, INBOX_RETENTION_MS, 5)).toBe(23);
    expect(await remaining()).toHaveLength(1);
  });
});
