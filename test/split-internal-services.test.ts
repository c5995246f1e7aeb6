/**
 * docs/api.md, "Internal services", split into services: the orders process takes stock from the
 * inventory process with the service credential it mints, so orders still work across
 * processes, while an admin token (or a customer's) sent straight to the inventory process's
 * StockService is refused with 403 and changes nothing; the gateway does not serve StockService.
 */
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StockService } from "../src/gen/ecommerce/inventory/v1/stock_service_pb.js";
import { connectError } from "./support/connect-call.js";
import { serviceUrls } from "./support/deployment.js";
import { expectOrderResult, orderApi } from "./support/order-json.js";
import { type TestApp, topologyTestApp } from "./support/test-app.js";
import { type SplitTopology, startSplitTopology } from "./support/topologies.js";

describe.skipIf(Array.isArray(serviceUrls()))(
  "split: internal services take only the service credential",
  () => {
    let topology: SplitTopology;
    let app: TestApp;
    const api = orderApi(() => app);

    beforeAll(async () => {
      topology = await startSplitTopology();
      app = await topologyTestApp(topology);
    }, 90_000);
    afterAll(async () => {
      await app?.stop();
    });

    it("orders work across processes; an admin token on the inventory process's StockService is 403", async () => {
      const product = await api.createProduct({ stock: 10 });
      const customer = await api.newCustomer();
      expectOrderResult(
        await api.postOrder(customer.token, { items: [{ product_id: product.id, quantity: 2 }] }),
        201,
      );
      expect(await api.stockOf(product.id)).toBe(8);

      const inventory = createClient(
        StockService,
        createConnectTransport({ baseUrl: topology.processes.inventory.url, httpVersion: "1.1" }),
      );
      const request = { orderId: `stolen-${product.id}`, lines: [{ productId: product.id, quantity: 8 }] };
      for (const token of [app.adminToken, app.customerToken]) {
        const error = await connectError(
          inventory.reserveStock(request, { headers: { authorization: `Bearer ${token}` } }),
        );
        expect(error.code).toBe(Code.PermissionDenied);
      }
      expect((await connectError(inventory.reserveStock(request))).code).toBe(Code.Unauthenticated);
      expect(await api.stockOf(product.id)).toBe(8);

      // The gateway serves the public services only.
      const viaGateway = createClient(
        StockService,
        createConnectTransport({ baseUrl: app.baseUrl, httpVersion: "1.1" }),
      );
      const unserved = await connectError(
        viaGateway.reserveStock(request, { headers: { authorization: `Bearer ${app.serviceToken}` } }),
      );
      expect(unserved.code).toBe(Code.Unimplemented);
      expect(await api.stockOf(product.id)).toBe(8);
    });
  },
);
