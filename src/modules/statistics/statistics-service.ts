/** StatisticsService: reads of the projection, each a primary-key lookup. */
import { create } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import { eq } from "drizzle-orm";
import {
  GetUserOrderStatisticsResponseSchema,
  GetUserStatisticsResponseSchema,
  type StatisticsService,
} from "../../gen/ecommerce/statistics/v1/statistics_service_pb.js";
import type { Authenticator } from "../../platform/auth/authenticator.js";
import type { Db } from "../../platform/db/database.js";
import { businessError } from "../../platform/rpc/errors.js";
import { Violations } from "../../platform/rpc/violations.js";
import { storeTotals, userOrderStats, userOrdersByHour } from "./schema.js";

export function createStatisticsService(deps: {
  db: Db;
  auth: Authenticator;
}): ServiceImpl<typeof StatisticsService> {
  const { db, auth } = deps;
  return {
    async getUserOrderStatistics(request, context) {
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
      // One snapshot: the projection updates both tables in one transaction, and two reads on two
      // connections could see one commit in one table and not in the other.
      const { stats, hours } = await db.transaction(
        async (tx) => {
          const [row] = await tx
            .select()
            .from(userOrderStats)
            .where(eq(userOrderStats.userId, request.userId));
          const buckets = await tx
            .select()
            .from(userOrdersByHour)
            .where(eq(userOrdersByHour.userId, request.userId));
          return { stats: row, hours: buckets };
        },
        { isolationLevel: "repeatable read", accessMode: "read only" },
      );
      const byHour = new Map(hours.map((row) => [row.hour, row.count]));
      return create(GetUserOrderStatisticsResponseSchema, {
        userId: request.userId,
        totalOrders: stats?.totalOrders ?? 0,
        ordersByHour: Array.from({ length: 24 }, (_, hour) => ({ hour, count: byHour.get(hour) ?? 0 })),
        cancelledOrders: stats?.cancelledOrders ?? 0,
        totalSpentCents: stats?.totalSpentCents ?? 0n,
      });
    },

    async getUserStatistics(_request, context) {
      await auth.requireAdmin(context);
      const [totals] = await db.select().from(storeTotals).where(eq(storeTotals.id, 1));
      return create(GetUserStatisticsResponseSchema, {
        totalUsers: totals?.totalUsers ?? 0,
        totalProducts: totals?.totalProducts ?? 0,
        totalOrders: totals?.totalOrders ?? 0,
        revenueCents: totals?.revenueCents ?? 0n,
      });
    },
  };
}
