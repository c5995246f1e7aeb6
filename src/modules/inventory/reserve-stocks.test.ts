/**
 * ReserveStocks: several orders' reservations in one call, each on its own. An order's invalid
 * request, unknown product or the server's failure fails that order alone, with the error
 * ReserveStock would have given it (a server failure without its cause, and logged); every product
 * whose stock changed is dropped from the cache before the call answers; the call itself is
 * bounded and for services only.
 */
import { Code, ConnectError, createContextValues, createHandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FieldViolationsSchema } from "../../gen/ecommerce/common/v1/error_details_pb.js";
import {
  type ReserveStocksResponse,
  StockService,
} from "../../gen/ecommerce/inventory/v1/stock_service_pb.js";
import type { Authenticator } from "../../platform/auth/index.js";
import { createLogger } from "../../platform/logger.js";
import { fromItemError } from "../../platform/rpc/index.js";
import { InvalidatedHere } from "./invalidated-here.js";
import type { ReservationStore } from "./reservation-store.js";
import { createStockService, MAX_RESERVATIONS_PER_CALL, type StockServiceDeps } from "./stock-service.js";

const OWN_SERVER = "7716032110300207266:1796528723945527";
const product = (n: number) => `0190c0de-0000-7000-8000-${String(n).padStart(12, "0")}`;

/** A StockService over a store that fails order ids starting "boom-" the way a lost database would. */
function batchService(options: { service?: boolean } = {}) {
  const reserved: { orderId: string; flushedByCaller: boolean | undefined }[] = [];
  const invalidated: string[] = [];
  const logged: string[] = [];
  const reservations = {
    async reserve(
      orderId: string,
      lines: { productId: string }[],
      _ttlMs: number,
      given: { flushedByCaller?: boolean },
    ) {
      if (orderId.startsWith("boom-")) throw new Error("connect ECONNREFUSED 10.0.0.3:5432");
      reserved.push({ orderId, flushedByCaller: given.flushedByCaller });
      return {
        reservation: { orderId, lines: [], expiresAt: new Date() },
        changes: [{ productIds: lines.map((line) => line.productId), eventId: `event-${orderId}` }],
      };
    },
  } as unknown as ReservationStore;
  const logger = createLogger("error");
  logger.error = ((fields: { operation?: string }, message: string) => {
    logged.push(`${fields.operation} ${message}`);
  }) as typeof logger.error;
  const deps: StockServiceDeps = {
    reservations,
    cache: {
      // Recorded once done, a little later: an answer that did not wait for it would come first.
      invalidate: async (id: string) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        invalidated.push(id);
        return true;
      },
    } as unknown as StockServiceDeps["cache"],
    auth: {
      requireService: async () => {
        if (options.service === false) throw new ConnectError("services only", Code.PermissionDenied);
      },
    } as unknown as Authenticator,
    reservationTimeoutMs: 60_000,
    onEventsCommitted: () => {},
    invalidatedHere: new InvalidatedHere(),
    databaseServer: OWN_SERVER,
    logger,
  };
  const service = createStockService(deps);
  const context = createHandlerContext({
    service: StockService,
    method: StockService.method.reserveStocks,
    protocolName: "connect",
    requestMethod: "POST",
    url: "http://127.0.0.1/ecommerce.inventory.v1.StockService/ReserveStocks",
    contextValues: createContextValues(),
  });
  const call = (reservations: object[]) =>
    service.reserveStocks?.({ reservations } as never, context) as Promise<ReserveStocksResponse>;
  return { reserved, invalidated, logged, call };
}

const wanted = (
  orderId: string,
  productId = product(1),
  quantity = 1,
  callerDatabaseServer = OWN_SERVER,
) => ({
  orderId,
  lines: [{ productId, quantity }],
  callerDatabaseServer,
});

/** Each outcome as "reserved", or the code of the error it carries. */
const outcomesOf = (response: ReserveStocksResponse) =>
  response.outcomes.map((outcome) =>
    outcome.outcome.case === "reserved"
      ? "reserved"
      : outcome.outcome.case === "failed"
        ? Code[fromItemError(outcome.outcome.value).code]
        : "none",
  );

describe("ReserveStocks", () => {
  it("reserves each order on its own and answers in the order asked", async () => {
    const { reserved, call } = batchService();
    const response = await call([wanted("o-1"), wanted("o-2", product(2)), wanted("o-3", product(3))]);
    expect(outcomesOf(response)).toEqual(["reserved", "reserved", "reserved"]);
    expect(reserved.map((reservation) => reservation.orderId)).toEqual(["o-1", "o-2", "o-3"]);
  });

  it("fails an invalid order or an unknown product alone, with ReserveStock's error, taking nothing for it", async () => {
    const { reserved, call } = batchService();
    const response = await call([
      wanted("o-1"),
      wanted("o-bad", product(2), 0),
      wanted("o-unknown", "not-a-uuid"),
      wanted("o-4", product(4)),
    ]);
    expect(outcomesOf(response)).toEqual(["reserved", "InvalidArgument", "NotFound", "reserved"]);
    expect(reserved.map((reservation) => reservation.orderId)).toEqual(["o-1", "o-4"]);
    const invalid = response.outcomes[1]?.outcome;
    if (invalid?.case !== "failed") throw new Error("o-bad was not failed");
    expect(fromItemError(invalid.value).findDetails(FieldViolationsSchema)[0]?.violations).toEqual([
      expect.objectContaining({ field: "items[0].quantity" }),
    ]);
  });

  it("fails an order the database failed alone, as internal, its cause logged and not told", async () => {
    const { call, logged } = batchService();
    const response = await call([wanted("o-1"), wanted("boom-2", product(2))]);
    expect(outcomesOf(response)).toEqual(["reserved", "Internal"]);
    const failed = response.outcomes[1]?.outcome;
    if (failed?.case !== "failed") throw new Error("boom-2 was not failed");
    expect(failed.value.message).toBe("internal error");
    expect(failed.value.message).not.toContain("10.0.0.3");
    expect(logged).toEqual([
      "/ecommerce.inventory.v1.StockService/ReserveStocks request failed: internal error",
    ]);
  });

  it("drops every product whose stock changed before it answers", async () => {
    const { invalidated, call } = batchService();
    await call([wanted("o-1", product(1)), wanted("boom-2", product(2)), wanted("o-3", product(3))]);
    expect(invalidated.sort()).toEqual([product(1), product(3)]);
  });

  it("leaves each order's flush to its caller only when the caller names this server", async () => {
    const { reserved, call } = batchService();
    await call([wanted("o-1"), wanted("o-2", product(2), 1, ""), wanted("o-3", product(3), 1, "1:2")]);
    expect(reserved.map((reservation) => reservation.flushedByCaller)).toEqual([true, false, false]);
  });

  it(`takes 1 to ${MAX_RESERVATIONS_PER_CALL} reservations`, async () => {
    const { reserved, call } = batchService();
    for (const count of [0, MAX_RESERVATIONS_PER_CALL + 1]) {
      const batch = Array.from({ length: count }, (_, index) => wanted(`o-${index}`));
      await expect(call(batch)).rejects.toMatchObject({ code: Code.InvalidArgument });
    }
    expect(reserved).toEqual([]);
    const full = Array.from({ length: MAX_RESERVATIONS_PER_CALL }, (_, index) => wanted(`o-${index}`));
    expect(outcomesOf(await call(full))).toHaveLength(MAX_RESERVATIONS_PER_CALL);
  });

  it("is for services only", async () => {
    const { reserved, call } = batchService({ service: false });
    await expect(call([wanted("o-1")])).rejects.toMatchObject({ code: Code.PermissionDenied });
    expect(reserved).toEqual([]);
  });
});
