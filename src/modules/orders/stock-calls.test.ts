/**
 * The orders module's reservations: each names the PostgreSQL server the module stores its orders
 * on, so that inventory on the same server can leave the reservation's flush to the order's commit
 * (docs/guarantees.md, "A reservation's commit"); and, with inventory in another process,
 * reservations asked for while one is on its way go together in one ReserveStocks call, each
 * order still getting its own answer or its own error.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorReasonSchema } from "../../gen/ecommerce/common/v1/error_details_pb.js";
import {
  type ReserveStockRequest,
  type ReserveStockResponse,
  ReserveStockResponseSchema,
  ReserveStocksResponseSchema,
  StockService,
} from "../../gen/ecommerce/inventory/v1/stock_service_pb.js";
import { REQUEST_CONTEXT, requestContextValues } from "../../platform/observability/index.js";
import { businessError, toItemError } from "../../platform/rpc/index.js";
import { createInProcessTransport } from "../../platform/transport/index.js";
import { createStockCalls } from "./stock-calls.js";

const PRODUCT = "0190c0de-0000-7000-8000-000000000001";
const SERVER = "7716032110300207266:1796528723945527";
const credential = { authorization: async () => "Bearer service-token" };

/** What a reservation answers: its order id as the product's name, to tell the answers apart. */
const answerFor = (request: ReserveStockRequest): ReserveStockResponse =>
  create(ReserveStockResponseSchema, {
    lines: [{ productId: PRODUCT, productName: request.orderId, quantity: 1, unitPriceCents: 100n }],
  });

const outOfStock = () => businessError(Code.FailedPrecondition, "OUT_OF_STOCK", "not enough stock");

/**
 * Stock calls over a StockService that records every call: the single ones with their request ids,
 * the batches with the order ids they carried. Order ids starting "short-" fail as out of stock,
 * "lost-" get no outcome at all.
 */
function recordingCalls(options: {
  databaseServer?: string;
  batchReservations: boolean;
  /** An inventory of the version before ReserveStocks: the method is unimplemented. */
  withoutBatches?: boolean;
}) {
  const single: { request: ReserveStockRequest; requestId: string | undefined }[] = [];
  const batches: string[][] = [];
  const transport = createInProcessTransport((router) =>
    router.service(StockService, {
      async reserveStock(request, context) {
        single.push({ request, requestId: context.values.get(REQUEST_CONTEXT)?.requestId });
        // Slow enough that the calls made meanwhile queue behind it.
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (request.orderId.startsWith("short-")) throw outOfStock();
        return answerFor(request);
      },
      async reserveStocks(request) {
        if (options.withoutBatches) throw new ConnectError("not implemented", Code.Unimplemented);
        batches.push(request.reservations.map((reservation) => reservation.orderId));
        return create(ReserveStocksResponseSchema, {
          outcomes: request.reservations
            .filter((reservation) => !reservation.orderId.startsWith("lost-"))
            .map((reservation) =>
              reservation.orderId.startsWith("short-")
                ? { outcome: { case: "failed" as const, value: toItemError(outOfStock()) } }
                : { outcome: { case: "reserved" as const, value: answerFor(reservation) } },
            ),
        });
      },
    }),
  );
  const calls = createStockCalls(createClient(StockService, transport), credential, {
    databaseServer: options.databaseServer,
    batchReservations: options.batchReservations,
  });
  return { single, batches, calls };
}

const reserve = (calls: ReturnType<typeof recordingCalls>["calls"], orderId: string) =>
  calls.reserve(orderId, [{ productId: PRODUCT, quantity: 1 }]);

describe("a reservation's caller", () => {
  it("names the server its orders are stored on", async () => {
    const { single, calls } = recordingCalls({ databaseServer: SERVER, batchReservations: false });
    await reserve(calls, "order-1");
    expect(single).toHaveLength(1);
    expect(single[0]?.request.callerDatabaseServer).toBe(SERVER);
    expect(single[0]?.request.orderId).toBe("order-1");
  });

  it("names none when it cannot tell (PGlite)", async () => {
    const { single, calls } = recordingCalls({ batchReservations: false });
    await reserve(calls, "order-1");
    expect(single[0]?.request.callerDatabaseServer).toBe("");
  });
});

describe("reservations with inventory in another process", () => {
  it("send the ones asked for while one is on its way together, each order getting its own answer", async () => {
    const { single, batches, calls } = recordingCalls({ databaseServer: SERVER, batchReservations: true });
    const ids = Array.from({ length: 6 }, (_, index) => `order-${index}`);
    const answers = await Promise.all(ids.map((id) => reserve(calls, id)));
    expect(answers.map((answer) => answer.lines[0]?.productName)).toEqual(ids);
    // The first went alone, at once; the five asked for meanwhile, in one call.
    expect(single.map((call) => call.request.orderId)).toEqual(["order-0"]);
    expect(batches).toEqual([["order-1", "order-2", "order-3", "order-4", "order-5"]]);
  });

  it("go one ReserveStock each to an inventory that lacks ReserveStocks (a rolling upgrade)", async () => {
    const { single, batches, calls } = recordingCalls({
      databaseServer: SERVER,
      batchReservations: true,
      withoutBatches: true,
    });
    const ids = ["order-0", "order-1", "short-2"];
    const results = await Promise.allSettled(ids.map((id) => reserve(calls, id)));
    expect(results.map((result) => result.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect(ConnectError.from((results[2] as PromiseRejectedResult).reason).code).toBe(
      Code.FailedPrecondition,
    );
    expect(single.map((call) => call.request.orderId)).toEqual(ids);
    expect(batches).toEqual([]);
  });

  it("send a lone one as ReserveStock, with its request's id", async () => {
    const { single, batches, calls } = recordingCalls({ databaseServer: SERVER, batchReservations: true });
    const values = requestContextValues({ requestId: "req-lone", traceId: undefined });
    await calls.reserve("order-lone", [{ productId: PRODUCT, quantity: 1 }], values);
    expect(single).toEqual([
      { request: expect.objectContaining({ orderId: "order-lone" }), requestId: "req-lone" },
    ]);
    expect(batches).toEqual([]);
  });

  it("fail only the order refused in a batch, with the error ReserveStock would have given", async () => {
    const { batches, calls } = recordingCalls({ databaseServer: SERVER, batchReservations: true });
    const ids = ["order-first", "order-a", "short-b", "order-c"];
    const results = await Promise.allSettled(ids.map((id) => reserve(calls, id)));
    expect(batches).toEqual([["order-a", "short-b", "order-c"]]);
    expect(results.map((result) => result.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    const refused = (results[2] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(ConnectError);
    expect(refused).toMatchObject({ code: Code.FailedPrecondition, rawMessage: "not enough stock" });
    expect((refused as ConnectError).findDetails(ErrorReasonSchema)).toEqual([
      expect.objectContaining({ reason: "OUT_OF_STOCK" }),
    ]);
  });

  it("fail an order the answer says nothing of, as not known to be reserved", async () => {
    const { calls } = recordingCalls({ databaseServer: SERVER, batchReservations: true });
    const results = await Promise.allSettled(
      ["order-first", "order-a", "lost-b"].map((id) => reserve(calls, id)),
    );
    expect(results.map((result) => result.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    // Not a refusal: the saga releases whatever may have been taken.
    expect(ConnectError.from((results[2] as PromiseRejectedResult).reason).code).not.toBe(
      Code.FailedPrecondition,
    );
  });

  it("in process, go one call each", async () => {
    const { single, batches, calls } = recordingCalls({ databaseServer: SERVER, batchReservations: false });
    await Promise.all(["order-0", "order-1", "order-2"].map((id) => reserve(calls, id)));
    expect(single.map((call) => call.request.orderId)).toEqual(["order-0", "order-1", "order-2"]);
    expect(batches).toEqual([]);
  });
});
