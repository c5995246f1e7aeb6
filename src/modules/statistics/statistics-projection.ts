/**
 * How each event changes the projection. Every effect is an increment, so events of one order may
 * be applied in any order (a redelivered created after its cancellation still sums right); the
 * inbox, written in the same transaction, makes each event count once.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { sql } from "drizzle-orm";
import {
  ProductCreatedSchema,
  ProductDeletedSchema,
  ProductStockChangedSchema,
  ProductUpdatedSchema,
} from "../../gen/ecommerce/inventory/v1/events_pb.js";
import { OrderCreatedSchema, OrderStatusChangedSchema } from "../../gen/ecommerce/orders/v1/events_pb.js";
import { OrderStatus } from "../../gen/ecommerce/orders/v1/order_pb.js";
import type { Tx } from "../../platform/db/database.js";
import { storeTotals, userOrderStats, userOrdersByHour } from "./schema.js";

/** An event the projection cannot use: parked for an operator instead of retried forever. */
export class PoisonEvent extends Error {}

/** Types that exist but do not change statistics. */
const IGNORED_TYPES = new Set<string>([ProductUpdatedSchema.typeName, ProductStockChangedSchema.typeName]);

/** Whether the event needs a transaction at all. */
export function affectsStatistics(type: string): boolean {
  return !IGNORED_TYPES.has(type);
}

interface TotalsDelta {
  users?: number;
  products?: number;
  orders?: number;
  revenueCents?: bigint;
}

export async function applyEvent(tx: Tx, type: string, payload: Uint8Array): Promise<void> {
  switch (type) {
    case OrderCreatedSchema.typeName: {
      const event = decode(() => fromBinary(OrderCreatedSchema, payload));
      if (event.createdAt === undefined) throw new PoisonEvent("order.created without created_at");
      const [user] = await tx
        .insert(userOrderStats)
        .values({ userId: event.userId, totalOrders: 1, totalSpentCents: event.totalCents })
        .onConflictDoUpdate({
          target: userOrderStats.userId,
          set: {
            totalOrders: sql`${userOrderStats.totalOrders} + 1`,
            totalSpentCents: sql`${userOrderStats.totalSpentCents} + ${event.totalCents}`,
          },
        })
        .returning({ totalOrders: userOrderStats.totalOrders });
      await tx
        .insert(userOrdersByHour)
        .values({ userId: event.userId, hour: timestampDate(event.createdAt).getUTCHours(), count: 1 })
        .onConflictDoUpdate({
          target: [userOrdersByHour.userId, userOrdersByHour.hour],
          set: { count: sql`${userOrdersByHour.count} + 1` },
        });
      // A user counts from their first order on.
      await addToTotals(tx, {
        users: user?.totalOrders === 1 ? 1 : 0,
        orders: 1,
        revenueCents: event.totalCents,
      });
      return;
    }
    case OrderStatusChangedSchema.typeName: {
      const event = decode(() => fromBinary(OrderStatusChangedSchema, payload));
      // Cancelled is final, so only the move into it changes the figures.
      if (event.to !== OrderStatus.CANCELLED || event.from === OrderStatus.CANCELLED) return;
      await tx
        .insert(userOrderStats)
        .values({ userId: event.userId, cancelledOrders: 1, totalSpentCents: -event.totalCents })
        .onConflictDoUpdate({
          target: userOrderStats.userId,
          set: {
            cancelledOrders: sql`${userOrderStats.cancelledOrders} + 1`,
            totalSpentCents: sql`${userOrderStats.totalSpentCents} - ${event.totalCents}`,
          },
        });
      await addToTotals(tx, { revenueCents: -event.totalCents });
      return;
    }
    case ProductCreatedSchema.typeName:
      decode(() => fromBinary(ProductCreatedSchema, payload));
      await addToTotals(tx, { products: 1 });
      return;
    case ProductDeletedSchema.typeName:
      decode(() => fromBinary(ProductDeletedSchema, payload));
      await addToTotals(tx, { products: -1 });
      return;
    default:
      throw new PoisonEvent(`unknown event type "${type}"`);
  }
}

function decode<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new PoisonEvent(`undecodable payload: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function addToTotals(tx: Tx, delta: TotalsDelta): Promise<void> {
  const users = delta.users ?? 0;
  const products = delta.products ?? 0;
  const orders = delta.orders ?? 0;
  const revenue = delta.revenueCents ?? 0n;
  await tx
    .insert(storeTotals)
    .values({ id: 1, totalUsers: users, totalProducts: products, totalOrders: orders, revenueCents: revenue })
    .onConflictDoUpdate({
      target: storeTotals.id,
      set: {
        totalUsers: sql`${storeTotals.totalUsers} + ${users}`,
        totalProducts: sql`${storeTotals.totalProducts} + ${products}`,
        totalOrders: sql`${storeTotals.totalOrders} + ${orders}`,
        revenueCents: sql`${storeTotals.revenueCents} + ${revenue}`,
      },
    });
}
