/**
 * A TypeScript client of the platform's Connect API with the generated code (src/gen): an admin
 * creates a product, a customer orders two of it, and the customer reads their statistics once the
 * order's event has reached them. The same calls work over gRPC: swap `createConnectTransport`'s
 * options for `httpVersion: "2"` and `createGrpcTransport`.
 *
 *   ADMIN_TOKEN=… CUSTOMER_TOKEN=… npx tsx examples/connect-client.ts [http://localhost:8080]
 *
 * (the tokens `npm start` prints, or `npm run token -- --sub alice --role customer`).
 */
import { type CallOptions, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { InventoryService } from "../src/gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { OrderStatus } from "../src/gen/ecommerce/orders/v1/order_pb.js";
import { OrderService } from "../src/gen/ecommerce/orders/v1/order_service_pb.js";
import { StatisticsService } from "../src/gen/ecommerce/statistics/v1/statistics_service_pb.js";

const baseUrl = process.argv[2] ?? "http://localhost:8080";
const { ADMIN_TOKEN, CUSTOMER_TOKEN } = process.env;
if (!ADMIN_TOKEN || !CUSTOMER_TOKEN) {
  console.error("set ADMIN_TOKEN and CUSTOMER_TOKEN (the tokens npm start prints)");
  process.exit(2);
}
const as = (token: string): CallOptions => ({ headers: { authorization: `Bearer ${token}` } });

const transport = createConnectTransport({ baseUrl, httpVersion: "1.1" });
const inventory = createClient(InventoryService, transport);
const orders = createClient(OrderService, transport);
const statistics = createClient(StatisticsService, transport);

// int64 fields (money) are bigints in TypeScript.
const { product } = await inventory.createProduct(
  { name: "Example teapot", category: "kitchen", priceCents: 3450n, stock: 10 },
  as(ADMIN_TOKEN),
);
console.log(
  `created product ${product?.id}: ${product?.name}, ${product?.priceCents} cents, stock ${product?.stock}`,
);

const { order } = await orders.createOrder(
  { items: [{ productId: product?.id ?? "", quantity: 2 }] },
  as(CUSTOMER_TOKEN),
);
const status = OrderStatus[order?.status ?? OrderStatus.UNSPECIFIED];
console.log(`placed order ${order?.id} for ${order?.userId}: ${status}, total ${order?.totalCents} cents`);

// Statistics follow the order's event: eventually consistent, usually within a second.
const deadline = Date.now() + 10_000;
for (;;) {
  const stats = await statistics.getUserOrderStatistics({ userId: order?.userId ?? "" }, as(CUSTOMER_TOKEN));
  if (stats.totalOrders > 0 || Date.now() > deadline) {
    console.log(
      `statistics of ${stats.userId}: ${stats.totalOrders} order(s), ${stats.totalSpentCents} cents spent`,
    );
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
