/**
 * Deletes inbox rows (ids of applied events) a week older than the newest applied event: long past
 * every way an event can arrive again, and nothing ages while nothing is applied.
 * docs/guarantees.md, "No lost or doubled events; statistics exactly once".
 */
import { inArray, lt, max } from "drizzle-orm";
import type { Db } from "../../platform/db/index.js";
import { type IntervalJob, startIntervalJob } from "../../platform/jobs/index.js";
import type { Logger } from "../../platform/logger.js";
import { inbox } from "./schema.js";

export const INBOX_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
const INBOX_PURGE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Deletes the inbox rows applied more than `retentionMs` before the newest one, in chunks so no
 * statement runs long; returns how many went.
 */
export async function purgeInbox(
  db: Db,
  retentionMs = INBOX_RETENTION_MS,
  chunkSize = 5_000,
): Promise<number> {
  const [newest] = await db.select({ at: max(inbox.appliedAt) }).from(inbox);
  if (!newest?.at) return 0;
  const cutoff = new Date(newest.at.getTime() - retentionMs);
  let purged = 0;
  for (;;) {
    const old = db
      .select({ id: inbox.eventId })
      .from(inbox)
      .where(lt(inbox.appliedAt, cutoff))
      .limit(chunkSize);
    const deleted = await db
      .delete(inbox)
      .where(inArray(inbox.eventId, old))
      .returning({ id: inbox.eventId });
    purged += deleted.length;
    if (deleted.length < chunkSize) return purged;
  }
}

/** Purges every hour until stopped; a failed purge is logged and tried again next time. */
export function startInboxPurge(db: Db, logger: Logger): IntervalJob {
  return startIntervalJob({
    name: "statistics inbox purge",
    intervalMs: INBOX_PURGE_INTERVAL_MS,
    logger,
    sweep: async () => {
      const purged = await purgeInbox(db);
      if (purged > 0) logger.info({ purged }, "statistics inbox: old event ids purged");
    },
  });
}
