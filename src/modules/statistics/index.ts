/** The statistics module's only public entry: how the composition root mounts it. */
import { StatisticsService } from "../../gen/ecommerce/statistics/v1/statistics_service_pb.js";
import type { MountedModule, Platform } from "../../platform/module.js";
import { StatisticsConsumer } from "./statistics-consumer.js";
import { createStatisticsService } from "./statistics-service.js";

export { rebuildStatistics } from "./rebuild-statistics.js";

export function mountStatistics(platform: Platform): MountedModule {
  const { database, bus, logger, metrics } = platform;
  const consumer = new StatisticsConsumer(database.db, bus, logger.child({ module: "statistics" }), metrics);
  const service = createStatisticsService({ db: database.db, auth: platform.auth });
  return {
    name: "statistics",
    routes: (router) => {
      router.service(StatisticsService, service);
    },
    start: () => consumer.start(),
    stop: () => consumer.stop(),
  };
}
