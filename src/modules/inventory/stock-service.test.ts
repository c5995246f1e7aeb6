/**
 * Who makes a reservation durable: a caller in this process (this process's orders module, whose
 * order commits to the same database afterwards) lets the reservation's commit skip the wait for
 * the disk; a caller over the network does not (docs/guarantees.md, "A reservation's commit").
 */
import { createClient, createContextValues, createHandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { StockService } from "../../gen/ecommerce/inventory/v1/stock_service_pb.js";
import type { Authenticator } from "../../platform/auth/index.js";
import { createInProcessTransport } from "../../platform/transport/index.js";
import { InvalidatedHere } from "./invalidated-here.js";
import type { ReservationStore } from "./reservation-store.js";
import { createStockService, type StockServiceDeps } from "./stock-service.js";

const PRODUCT = "0190c0de-0000-7000-8000-000000000001";

/** A StockService over a store that records the options of every reserve. */
function recordingService() {
  const options: { flushedByCaller?: boolean }[] = [];
  const reservations = {
    async reserve(orderId: string, _lines: unknown, _ttlMs: number, given: { flushedByCaller?: boolean }) {
      options.push(given);
      return { reservation: { orderId, lines: [], expiresAt: new Date() }, changes: [] };
    },
  } as unknown as ReservationStore;
  const deps: StockServiceDeps = {
    reservations,
    cache: {} as StockServiceDeps["cache"],
    auth: { requireService: async () => {} } as unknown as Authenticator,
    reservationTimeoutMs: 60_000,
    onEventsCommitted: () => {},
    invalidatedHere: new InvalidatedHere(),
  };
  return { options, service: createStockService(deps) };
}

const request = { orderId: "o-1", lines: [{ productId: PRODUCT, quantity: 1 }] };

describe("ReserveStock's commit", () => {
  it("is left to the caller's commit when the caller is in this process", async () => {
    const { options, service } = recordingService();
    const transport = createInProcessTransport((router) => router.service(StockService, service));
    await createClient(StockService, transport).reserveStock(request);
    expect(options).toEqual([{ flushedByCaller: true }]);
  });

  it("waits for the disk when the call came over the network (a handler context of the server's)", async () => {
    const { options, service } = recordingService();
    const context = createHandlerContext({
      service: StockService,
      method: StockService.method.reserveStock,
      protocolName: "connect",
      requestMethod: "POST",
      url: "http://127.0.0.1/ecommerce.inventory.v1.StockService/ReserveStock",
      contextValues: createContextValues(),
    });
    await service.reserveStock?.(request as never, context);
    expect(options).toEqual([{ flushedByCaller: false }]);
  });
});
