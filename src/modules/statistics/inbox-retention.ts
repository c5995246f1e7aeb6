/**
 * The inbox (ids of applied events) would otherwise grow forever. A row only matters while the
 * same event can still arrive again, and every way it can comes soon after it was applied:
 *
 * - JetStream redelivers an event whose ack was lost after `ack_wait` (30 s), and a failing one
 *   with a backoff capped at 60 s up to 20 times (~20 minutes);
 * - a relay that died between publishing and marking its row publishes it again on its next run,
 *   which the broker drops within its duplicate window (10 minutes) and the inbox catches after;
 * - embedded, the relay delivers a row again after a restart if it died before marking it.
 *
 * So rows are kept for a week, far beyond all of these, and the week is counted back from the
 * newest applied event rather than from the clock: while nothing is applied (the platform is down,
 * or the statistics consumers are) nothing ages, so the repeats a restart brings after a long
 * outage still meet their rows. The one repeat this does not cover is a relay whose process died in
 * the instant between the broker's ack and its own commit and then stayed down for over a week
 * while the statistics kept applying other events.
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
