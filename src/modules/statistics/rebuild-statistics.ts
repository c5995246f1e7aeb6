/**
 * Rebuilds the projection from scratch: empties it, then has the statistics groups read the event
 * stream again from its start. Emptying comes first, so whatever a running consumer applies in
 * between is in the inbox and is not counted again during the replay.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../../platform/db/index.js";
import { resetDurableGroup } from "../../platform/events/index.js";
import { STATISTICS_SOURCES } from "./statistics-consumer.js";

export async function rebuildStatistics(options: {
  db: Db;
  natsUrl: string;
  namespace: string;
}): Promise<void> {
  await options.db.execute(
    sql`truncate statistics.inbox, statistics.user_order_stats, statistics.user_orders_by_hour, statistics.store_orders_by_hour, statistics.store_totals, statistics.parked_events`,
  );
  for (const source of STATISTICS_SOURCES) {
    await resetDurableGroup(
      { url: options.natsUrl, namespace: options.namespace },
      source.durableName,
      source.subjects,
    );
  }
}
