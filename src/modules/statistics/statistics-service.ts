/**
 * StatisticsService: reads of the projection, each one statement of primary-key lookups, and its
 * rebuild from the event stream (admin).
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { eq, sql } from "drizzle-orm";
import {
  GetOrdersByHourResponseSchema,
  GetUserOrderStatisticsResponseSchema,
  GetUserStatisticsResponseSchema,
  RebuildStatisticsResponseSchema,
  type StatisticsService,
} from "../../gen/ecommerce/statistics/v1/statistics_service_pb.js";
import type { Authenticator } from "../../platform/auth/index.js";
import { type Db, rawRows } from "../../platform/db/index.js";
import type { Logger } from "../../platform/logger.js";
import { requestIdOf } from "../../platform/observability/index.js";
import { businessError, Violations } from "../../platform/rpc/index.js";
import { storeOrdersByHour, storeTotals, userOrderStats, userOrdersByHour } from "./schema.js";

/** One user's row of the projection, with their hours as "hour:count,…". */
interface UserStatsRow {
  total_orders: number;
  cancelled_orders: number;
  total_spent_cents: string;
  hours: string | null;
}

export interface StatisticsRebuild {
  /** Resolves when the event stream answers; rejects otherwise (nothing has been touched yet). */
  checkStream(): Promise<void>;
  /** Empties the projection and has the consumers replay the stream from its start. */
  run(): Promise<void>;
}

export interface StatisticsServiceDeps {
  db: Db;
  auth: Authenticator;
  logger: Logger;
  /** How to rebuild the projection; undefined when there is no event stream to replay (no NATS). */
  rebuild: StatisticsRebuild | undefined;
}

type StatisticsHandlers = ServiceImpl<typeof StatisticsService>;

export function createStatisticsService(deps: StatisticsServiceDeps): StatisticsHandlers {
  return {
    getUserOrderStatistics: userOrderStatisticsHandler(deps),
    getUserStatistics: storeStatisticsHandler(deps),
    getOrdersByHour: storeOrdersByHourHandler(deps),
    rebuildStatistics: rebuildStatisticsHandler(deps),
  };
}

/** One user's orders: a customer's own, or anyone's for an admin. */
function userOrderStatisticsHandler({
  db,
  auth,
}: StatisticsServiceDeps): StatisticsHandlers["getUserOrderStatistics"] {
  return async (request, context) => {
    const principal = await auth.requireUser(context);
    const violations = new Violations();
    violations.text("user_id", request.userId, 200, { required: true });
    violations.throwIfAny();
    if (principal.role !== "admin" && principal.userId !== request.userId) {
      throw businessError(
        Code.PermissionDenied,
        "NOT_YOUR_STATISTICS",
        "a customer may read only their own statistics",
      );
    }
    // One statement, so one snapshot of both tables (the projection changes them together).
    const [stats] = await rawRows<UserStatsRow>(
      db,
      sql`select s.total_orders, s.cancelled_orders, s.total_spent_cents::text as total_spent_cents,
            (select string_agg(h.hour || ':' || h.count, ',') from ${userOrdersByHour} h
              where h.user_id = s.user_id) as hours
          from ${userOrderStats} s where s.user_id = ${request.userId}`,
    );
    const byHour = new Map(
      (stats?.hours ? stats.hours.split(",") : []).map(
        (pair) => pair.split(":").map(Number) as [number, number],
      ),
    );
    return create(GetUserOrderStatisticsResponseSchema, {
      userId: request.userId,
      totalOrders: stats?.total_orders ?? 0,
      ordersByHour: everyHour(byHour),
      cancelledOrders: stats?.cancelled_orders ?? 0,
      totalSpentCents: BigInt(stats?.total_spent_cents ?? 0),
    });
  };
}

/** The store's totals (admin). */
function storeStatisticsHandler({
  db,
  auth,
}: StatisticsServiceDeps): StatisticsHandlers["getUserStatistics"] {
  return async (_request, context) => {
    await auth.requireAdmin(context);
    const [totals] = await db.select().from(storeTotals).where(eq(storeTotals.id, 1));
    return create(GetUserStatisticsResponseSchema, {
      totalUsers: totals?.totalUsers ?? 0,
      totalProducts: totals?.totalProducts ?? 0,
      totalOrders: totals?.totalOrders ?? 0,
      revenueCents: totals?.revenueCents ?? 0n,
    });
  };
}

/** The store's orders by hour of the day (admin): always 24 entries. */
function storeOrdersByHourHandler({
  db,
  auth,
}: StatisticsServiceDeps): StatisticsHandlers["getOrdersByHour"] {
  return async (_request, context) => {
    await auth.requireAdmin(context);
    const rows = await db.select().from(storeOrdersByHour);
    const byHour = new Map(rows.map((row) => [row.hour, row.count]));
    return create(GetOrdersByHourResponseSchema, { ordersByHour: everyHour(byHour) });
  };
}

/** The 24 hours of a day, each with its count from `byHour` (0 for an hour with no row). */
function everyHour(byHour: ReadonlyMap<number, number>): { hour: number; count: number }[] {
  return Array.from({ length: 24 }, (_, hour) => ({ hour, count: byHour.get(hour) ?? 0 }));
}

function rebuildStatisticsHandler({
  auth,
  logger,
  rebuild,
}: StatisticsServiceDeps): StatisticsHandlers["rebuildStatistics"] {
  return async (_request, context) => {
    const principal = await auth.requireAdmin(context);
    // Who asked, and under which request: a rebuild empties the projection.
    const asked = { by: principal.userId, requestId: requestIdOf(context) };
    if (rebuild === undefined) {
      throw businessError(
        Code.FailedPrecondition,
        "NO_EVENT_STREAM",
        "this deployment runs on the in-process event bus (no NATS_URL), which keeps no event stream to replay; the projection was left as it is",
      );
    }
    // Emptying first and failing to restart the replay would leave the projection empty: make
    // sure the stream answers before touching anything.
    try {
      await rebuild.checkStream();
    } catch (error) {
      throw new ConnectError(
        `the event stream cannot be reached (${String(error)}); the projection was left as it is`,
        Code.Unavailable,
      );
    }
    logger.warn(asked, "statistics rebuild requested: emptying the projection");
    try {
      await rebuild.run();
    } catch (error) {
      logger.error({ err: error, ...asked }, "statistics rebuild failed");
      throw new ConnectError(
        `the rebuild did not complete (${String(error)}); the projection may have been emptied without its replay being restarted: call RebuildStatistics again`,
        Code.Unavailable,
      );
    }
    logger.info(asked, "statistics emptied; the projection is replaying the event stream");
    return create(RebuildStatisticsResponseSchema, {});
  };
}
