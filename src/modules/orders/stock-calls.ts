/** The StockService calls the orders module makes: with its service token and a deadline of their own. */
import type { CallOptions, Client, ContextValues } from "@connectrpc/connect";
import type { StockService } from "../../gen/ecommerce/inventory/v1/stock_service_pb.js";
import type { ServiceCredential } from "../../platform/auth/index.js";
import type { OrderLine } from "./order-validation.js";
import type { Confirmation } from "./stock-settlement.js";

/** Internal calls get a deadline of their own rather than the caller's. */
const INTERNAL_CALL_TIMEOUT_MS = 10_000;

/** The StockService calls this module makes, with its service token and an internal deadline. */
export interface StockCalls {
  /** `request`: the context values of the call being served, so the request's id goes along. */
  reserve(
    orderId: string,
    lines: OrderLine[],
    request?: ContextValues,
  ): ReturnType<Client<typeof StockService>["reserveStock"]>;
  /** One ConfirmReservations call for many orders: the outcome of each. */
  confirm(orderIds: string[]): Promise<Map<string, Confirmation>>;
  release(orderId: string): Promise<void>;
}

/**
 * @param databaseServer the PostgreSQL server this module stores its orders on
 *   (Database.serverIdentity), named in every reservation: an order stored there after its
 *   reservation makes the reservation durable too, when inventory stores it on the same server
 *   (docs/guarantees.md, "A reservation's commit").
 */
export function createStockCalls(
  stock: Client<typeof StockService>,
  credential: Pick<ServiceCredential, "authorization">,
  databaseServer: string | undefined,
): StockCalls {
  const internal = async (request?: ContextValues): Promise<CallOptions> => ({
    headers: { authorization: await credential.authorization() },
    timeoutMs: INTERNAL_CALL_TIMEOUT_MS,
    contextValues: request,
  });
  return {
    reserve: async (orderId, lines, request) =>
      stock.reserveStock(
        { orderId, lines, callerDatabaseServer: databaseServer ?? "" },
        await internal(request),
      ),
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
