/**
 * The orders module names the PostgreSQL server it stores its orders on in every reservation, so
 * that inventory on the same server can leave the reservation's flush to the order's commit
 * (docs/guarantees.md, "A reservation's commit"); one that cannot tell names none.
 */
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  type ReserveStockRequest,
  ReserveStockResponseSchema,
  StockService,
} from "../../gen/ecommerce/inventory/v1/stock_service_pb.js";
import { createInProcessTransport } from "../../platform/transport/index.js";
import { createStockCalls } from "./stock-calls.js";

const PRODUCT = "0190c0de-0000-7000-8000-000000000001";
const credential = { authorization: async () => "Bearer service-token" };

/** Stock calls over a StockService that records every ReserveStock request. */
function recordingCalls(databaseServer: string | undefined) {
  const received: ReserveStockRequest[] = [];
  const transport = createInProcessTransport((router) =>
    router.service(StockService, {
      async reserveStock(request) {
        received.push(request);
        return create(ReserveStockResponseSchema, {});
      },
    }),
  );
  return {
    received,
    calls: createStockCalls(createClient(StockService, transport), credential, databaseServer),
  };
}

describe("a reservation's caller", () => {
  it("names the server its orders are stored on", async () => {
    const { received, calls } = recordingCalls("7716032110300207266:1796528723945527");
    await calls.reserve("order-1", [{ productId: PRODUCT, quantity: 2 }]);
    expect(received).toHaveLength(1);
    expect(received[0]?.callerDatabaseServer).toBe("7716032110300207266:1796528723945527");
    expect(received[0]?.orderId).toBe("order-1");
  });

  it("names none when it cannot tell (PGlite)", async () => {
    const { received, calls } = recordingCalls(undefined);
    await calls.reserve("order-1", [{ productId: PRODUCT, quantity: 2 }]);
    expect(received[0]?.callerDatabaseServer).toBe("");
  });
});
