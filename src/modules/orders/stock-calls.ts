/**
 * The StockService calls the orders module makes: with its service token and a deadline of their
 * own; with inventory in another process, concurrent reservations go together (ReserveStocks).
 */
import { create } from "@bufbuild/protobuf";
import type { CallOptions, Client, ContextValues } from "@connectrpc/connect";
import {
  type ReserveStockRequest,
  ReserveStockRequestSchema,
  type ReserveStockResponse,
  type StockService,
} from "../../gen/ecommerce/inventory/v1/stock_service_pb.js";
import type { ServiceCredential } from "../../platform/auth/index.js";
import { loneOrTogether } from "../../platform/batching/index.js";
import { type RequestTrace, thisRequestsTrace } from "../../platform/observability/index.js";
import { itemAnswers } from "../../platform/rpc/index.js";
import type { OrderLine } from "./order-validation.js";
import type { Confirmation } from "./stock-settlement.js";

/** Internal calls get a deadline of their own rather than the caller's. */
const INTERNAL_CALL_TIMEOUT_MS = 10_000;
/** The most reservations ReserveStocks takes in one call (its limit in stock_service.proto). */
const MAX_RESERVATIONS_PER_CALL = 50;

/** The StockService calls this module makes, with its service token and an internal deadline. */
export interface StockCalls {
  /** `request`: the context values of the call being served, so the request's id goes along. */
  reserve(orderId: string, lines: OrderLine[], request?: ContextValues): Promise<ReserveStockResponse>;
  /** One ConfirmReservations call for many orders: the outcome of each. */
  confirm(orderIds: string[]): Promise<Map<string, Confirmation>>;
  release(orderId: string): Promise<void>;
}

export interface StockCallsOptions {
  /**
   * The PostgreSQL server this module stores its orders on (Database.serverIdentity), named in
   * every reservation: an order stored there after its reservation makes the reservation durable
   * too, when inventory stores it on the same server (docs/guarantees.md, "A reservation's commit").
   */
  databaseServer: string | undefined;
  /**
   * Whether reservations asked for while one is on its way go together in one ReserveStocks call
   * (inventory in another process: a network call costs far more than its statement). In process,
   * each goes on its own.
   */
  batchReservations: boolean;
}

/** One order's reservation waiting for its call. */
interface PendingReservation {
  request: ReserveStockRequest;
  values: ContextValues | undefined;
  /** The order's trace: a lone call continues it, a batch links to it. */
  trace: RequestTrace | undefined;
}

export function createStockCalls(
  stock: Client<typeof StockService>,
  credential: Pick<ServiceCredential, "authorization">,
  { databaseServer, batchReservations }: StockCallsOptions,
): StockCalls {
  const internal = async (request?: ContextValues): Promise<CallOptions> => ({
    headers: { authorization: await credential.authorization() },
    timeoutMs: INTERNAL_CALL_TIMEOUT_MS,
    contextValues: request,
  });
  const reserveOne = async ({ request, values }: PendingReservation) =>
    stock.reserveStock(request, await internal(values));
  // With inventory elsewhere: a lone reservation as ReserveStock, with its request's id (a failure
  // of the call is that order's); the ones asked for meanwhile in one ReserveStocks.
  const reserveBatched = loneOrTogether<PendingReservation, ReserveStockResponse>({
    alone: reserveOne,
    together: async (pending) => {
      const reservations = pending.map(({ request }) => request);
      const { outcomes } = await stock.reserveStocks({ reservations }, await internal());
      // An order without an outcome fails as not known to be reserved (so it is released).
      return itemAnswers(pending, outcomes, "reserved");
    },
    spanName: "reserve stock for several orders",
    maxBatch: MAX_RESERVATIONS_PER_CALL,
  });

  return {
    reserve: async (orderId, lines, values) => {
      const pending = {
        request: create(ReserveStockRequestSchema, {
          orderId,
          lines,
          callerDatabaseServer: databaseServer ?? "",
        }),
        values,
        trace: batchReservations ? thisRequestsTrace() : undefined,
      };
      return batchReservations ? reserveBatched(pending) : reserveOne(pending);
    },
    confirm: async (orderIds) => {
      const response = await stock.confirmReservations({ orderIds }, await internal());
      const outcomes = new Map<string, Confirmation>(orderIds.map((id) => [id, "confirmed"]));
      for (const id of response.releasedOrderIds) outcomes.set(id, "released");
      for (const id of response.unknownOrderIds) outcomes.set(id, "unknown");
      return outcomes;
    },
    release: async (orderId) => {
      await stock.releaseReservation({ orderId }, await internal());
    },
  };
}
