/**
 * Who makes a reservation durable: a caller whose order commits to the same PostgreSQL server
 * afterwards — one in this process (this process's orders module), or one over the network that
 * names this server as its own — lets the reservation's commit skip the wait for the disk; any
 * other caller does not (docs/guarantees.md, "A reservation's commit").
 */
import { Code, createClient, createContextValues, createHandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { StockService } from "../../gen/ecommerce/inventory/v1/stock_service_pb.js";
import type { Authenticator } from "../../platform/auth/index.js";
import { createLogger } from "../../platform/logger.js";
import { createInProcessTransport } from "../../platform/transport/index.js";
import { InvalidatedHere } from "./invalidated-here.js";
import type { ReservationStore } from "./reservation-store.js";
import { createStockService, type StockServiceDeps } from "./stock-service.js";

const PRODUCT = "0190c0de-0000-7000-8000-000000000001";
/** The server inventory's reservations are stored on, as Database.serverIdentity reads it. */
const OWN_SERVER = "7716032110300207266:1796528723945527";

/** A StockService over a store that records the options of every reserve. */
function recordingService(
  { databaseServer }: { databaseServer: string | undefined } = { databaseServer: OWN_SERVER },
) {
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
    databaseServer,
    logger: createLogger("silent"),
  };
  return { options, service: createStockService(deps) };
}

const request = { orderId: "o-1", lines: [{ productId: PRODUCT, quantity: 1 }], callerDatabaseServer: "" };

describe("ReserveStock's commit", () => {
  it("is left to the caller's commit when the caller is in this process", async () => {
    const { options, service } = recordingService();
    const transport = createInProcessTransport((router) => router.service(StockService, service));
    await createClient(StockService, transport).reserveStock(request);
    expect(options).toEqual([{ flushedByCaller: true }]);
  });

  /** A handler context as the server builds it for a call that came over the network. */
  const networkContext = () =>
    createHandlerContext({
      service: StockService,
      method: StockService.method.reserveStock,
      protocolName: "connect",
      requestMethod: "POST",
      url: "http://127.0.0.1/ecommerce.inventory.v1.StockService/ReserveStock",
      contextValues: createContextValues(),
    });

  it("waits for the disk when the call came over the network (a handler context of the server's)", async () => {
    const { options, service } = recordingService();
    await service.reserveStock?.(request as never, networkContext());
    expect(options).toEqual([{ flushedByCaller: false }]);
  });

  it("is left to a caller over the network that stores its order on this same server", async () => {
    const { options, service } = recordingService();
    await service.reserveStock?.({ ...request, callerDatabaseServer: OWN_SERVER } as never, networkContext());
    expect(options).toEqual([{ flushedByCaller: true }]);
  });

  it("waits for the disk when the caller names another server, or a copy of this one started apart", async () => {
    const { options, service } = recordingService();
    const [identifier] = OWN_SERVER.split(":");
    for (const callers of ["1234567890123456789:1796528723945527", `${identifier}:1796528723945528`]) {
      await service.reserveStock?.({ ...request, callerDatabaseServer: callers } as never, networkContext());
    }
    expect(options).toEqual([{ flushedByCaller: false }, { flushedByCaller: false }]);
  });

  it("waits for the disk when this process cannot tell which server it is on, whatever the caller says", async () => {
    const { options, service } = recordingService({ databaseServer: undefined });
    for (const callers of ["", OWN_SERVER]) {
      await service.reserveStock?.({ ...request, callerDatabaseServer: callers } as never, networkContext());
    }
    expect(options).toEqual([{ flushedByCaller: false }, { flushedByCaller: false }]);
  });

  it("refuses an overlong server identity, taking nothing", async () => {
    const { options, service } = recordingService();
    const overlong = { ...request, callerDatabaseServer: "9".repeat(101) };
    await expect(service.reserveStock?.(overlong as never, networkContext())).rejects.toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: expect.stringContaining("caller_database_server"),
    });
    expect(options).toEqual([]);
  });
});
