/** The statistics module's only public entry: how the composition root mounts it. */
import { StatisticsService } from "../../gen/ecommerce/statistics/v1/statistics_service_pb.js";
import type { MountedModule, Platform } from "../../platform/module.js";
import { startInboxPurge } from "./inbox-retention.js";
import { rebuildStatistics } from "./rebuild-statistics.js";
import { StatisticsConsumer } from "./statistics-consumer.js";
import { createStatisticsService, type StatisticsRebuild } from "./statistics-service.js";

export { rebuildStatistics };

export function mountStatistics(platform: Platform): MountedModule {
  const { database, bus, logger, metrics, config } = platform;
  const log = logger.child({ module: "statistics" });
  const consumer = new StatisticsConsumer(database.backgroundDb, bus, log, metrics);
  const { natsUrl, namespace } = config;
  // Only JetStream keeps the history a rebuild replays; the in-process bus forgets each event.
  const rebuild: StatisticsRebuild | undefined =
    natsUrl === undefined
      ? undefined
      : {
          checkStream: () => bus.ping(),
          run: () => rebuildStatistics({ db: database.db, natsUrl, namespace }),
        };
  const service = createStatisticsService({ db: database.db, auth: platform.auth, logger: log, rebuild });
  let purge: ReturnType<typeof startInboxPurge> | undefined;
  return {
    name: "statistics",
    routes: (router) => {
      router.service(StatisticsService, service);
    },
    start: async () => {
      await consumer.start();
      purge = startInboxPurge(database.backgroundDb, log);
    },
    stop: async () => {
      await purge?.stop();
      await consumer.stop();
    },
  };
}
