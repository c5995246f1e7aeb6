/**
 * The authorization matrix: every REST route (as GET /openapi.json lists them) and every RPC (as
 * the generated service descriptors list them) × every caller {anonymous, customer (the owner of
 * the fixtures), other customer, admin, service} × every protocol (REST for routes; Connect JSON and
 * gRPC with @grpc/grpc-js for RPCs), against the rules of docs/api.md ("Authentication and roles",
 * "Internal services"):
 *
 * - anyone reads products, product reviews, discounted products and the operations endpoints;
 * - a customer creates orders for themselves, reads and lists only their own (another's reads as
 *   404), cancels their own pending order (any other change: 403), writes, edits and deletes their
 *   own reviews (another's: 403) and reads their own statistics (another's, or the store's: 403);
 * - an admin does everything on the public services, but edits no one else's review (docs/api.md:
 *   `PUT /reviews/:id (author)`, against `DELETE /reviews/:id (author or admin)`);
 * - StockService and OrderBatchService, internal, serve only the service credential: anonymous 401,
 *   customers and admins 403 (an order in a batch is then its own caller's); on the public services that credential grants nothing beyond what an anonymous caller
 *   may do: public reads work, anything needing a user is 403;
 * - no token where a user is needed: 401.
 *
 * An allowed cell is checked positively (the documented 2xx or OK, with a plausible body), a
 * refused one by its exact status and code. A stream (WatchOrders, GET /orders/events) is judged by
 * how it starts: its first message or event when allowed, then it is closed. The table below is the single source of expectations:
 * a route or RPC it does not name, or one it names that no longer exists, fails the suite.
 */
import type { DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorReasonSchema } from "../src/gen/ecommerce/common/v1/error_details_pb.js";
import { InventoryService } from "../src/gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { StockService } from "../src/gen/ecommerce/inventory/v1/stock_service_pb.js";
import { OrderBatchService } from "../src/gen/ecommerce/orders/v1/order_batch_service_pb.js";
import { OrderStatus } from "../src/gen/ecommerce/orders/v1/order_pb.js";
import { OrderService } from "../src/gen/ecommerce/orders/v1/order_service_pb.js";
import { StatisticsService } from "../src/gen/ecommerce/statistics/v1/statistics_service_pb.js";
import { buildFixtures, type Fixtures, subjectOf } from "./support/authorization-fixtures.js";
import {
  CALLERS,
  type Caller,
  type Credentials,
  credentials,
  type Expected,
  expectedRestOutcome,
  fitsTemplate,
  HTTP_STATUS,
  openApiRoutes,
  type Row,
  type RpcCallers,
  restCall,
  restOutcome,
  restStreamCall,
  rpcCallers,
  rpcMethods,
} from "./support/authorization-matrix.js";
import type { HttpResult } from "./support/http-call.js";
import { expectOrderShape, type OrderJson, type OrderListJson } from "./support/order-json.js";
import { expectProblem } from "./support/problem-assertions.js";
import { expectProductShape, type ProductJson, type ProductListJson } from "./support/product-json.js";
import { expectReviewListResult, expectReviewResult } from "./support/review-json.js";
import { expectStoreStats, expectUserOrderStats } from "./support/statistics-json.js";
import { type InProcessSetup, inProcessSetups, startTestApp, type TestApp } from "./support/test-app.js";

/** Statistics by hour: the 24 hours of a day, in order (the counts are eventually consistent). */
function expectEveryHour(buckets: readonly { hour: number }[]): void {
  expect(buckets.map((bucket) => bucket.hour)).toEqual(Array.from({ length: 24 }, (_, hour) => hour));
}

/** The services whose every method the table must name. */
const SERVICES: DescService[] = [
  InventoryService,
  StockService,
  OrderService,
  OrderBatchService,
  StatisticsService,
];

/**
 * Routes docs/api.md names that the OpenAPI document does not describe: the document itself and its
 * viewer. They are in the table too, and are expected to answer.
 */
const ROUTES_OUTSIDE_OPENAPI = ["GET /openapi.json", "GET /docs"];

// ---------------------------------------------------------------------------------------------
// Rows: what each caller meets, in the order anonymous, customer (owner), other customer, admin,
// service.

const ok = "ok";
const U = "unauthenticated";
const D = "permission_denied";
const N = "not_found";
const row = (
  anonymous: Expected,
  customer: Expected,
  other: Expected,
  admin: Expected,
  service: Expected,
): Row => ({
  anonymous,
  customer,
  other,
  admin,
  service,
});

/** Public reads, operations endpoints. */
const ANYONE = row(ok, ok, ok, ok, ok);
/** Product and discount writes, discount listing, store statistics, the statistics rebuild. */
const ADMIN_ONLY = row(U, D, D, ok, D);
/** Anything a user (customer or admin) may do for themselves. */
const ANY_USER = row(U, ok, ok, ok, D);
/** The owner's order: another customer is told it does not exist. */
const OWNERS_ORDER = row(U, ok, N, ok, D);
/** The internal StockService and OrderBatchService. */
const SERVICE_ONLY = row(U, D, D, D, ok);

// ---------------------------------------------------------------------------------------------
// The table.

/** What a request or a check may use: the app, the fixtures, who calls. */
interface Ctx {
  app: TestApp;
  fx: Fixtures;
  caller: Caller;
  /** The caller's user id (their token's `sub`); undefined for the anonymous caller. */
  userId: string | undefined;
}

interface RestCase {
  /** Which of several requests of one route this is. */
  scenario?: string;
  row: Row;
  /** The documented success status. */
  status: number;
  /** Called once per cell, so it may make a fresh fixture. */
  request(ctx: Ctx): { path: string; json?: unknown } | Promise<{ path: string; json?: unknown }>;
  /** The positive check of an allowed call (`path`: the path it was sent to). */
  check(result: HttpResult, ctx: Ctx, path: string): void | Promise<void>;
  /** The route answers an event stream: an allowed call is judged by its first event (restStreamCall). */
  stream?: true;
}

interface RpcCase<M extends Pick<DescMethod, "input" | "output"> = Pick<DescMethod, "input" | "output">> {
  scenario?: string;
  row: Row;
  /** Called once per cell, so it may make a fresh fixture. */
  request(ctx: Ctx): MessageInitShape<M["input"]> | Promise<MessageInitShape<M["input"]>>;
  /** The positive check of an allowed call (`request`: what it sent). */
  check(
    response: MessageShape<M["output"]>,
    ctx: Ctx,
    request: MessageInitShape<M["input"]>,
  ): void | Promise<void>;
  /**
   * Set-ups where an allowed caller passes authorization but the call cannot complete there, and
   * the refusal it meets instead (RebuildStatistics has no stream to replay on the in-process bus).
   */
  allowedMeets?: Partial<Record<InProcessSetup, { code: string; reason: string }>>;
}

/** Typed cases of one RPC (the type argument is the generated method, for request and response types). */
function rpc<M extends Pick<DescMethod, "input" | "output">>(...cases: RpcCase<M>[]): RpcCase[] {
  return cases as unknown as RpcCase[];
}

const json = (result: HttpResult) => {
  expect(result.headers.get("content-type"), result.text).toMatch(/^application\/json\b/);
  return result.body;
};
const pastHour = () => new Date(Date.now() - 3_600_000);
const nextDay = () => new Date(Date.now() + 86_400_000);
const uniqueName = (what: string) => `${what} ${Math.random().toString(36).slice(2, 10)}`;

/** After an allowed REST delete: the resource reads as 404. */
async function expectGone(ctx: Ctx, path: string): Promise<void> {
  expectProblem(await restCall(ctx.app, ctx.app.adminToken, "GET", path), 404, "not_found");
}

/** After an allowed discount delete: admins no longer list it. */
async function expectDiscountGone(ctx: Ctx, id: string): Promise<void> {
  const list = await restCall(ctx.app, ctx.app.adminToken, "GET", "/discounts?page_size=100");
  expect(list.status, list.text).toBe(200);
  expect((list.body as { discounts: { id: string }[] }).discounts.map((d) => d.id)).not.toContain(id);
}

/** After an allowed review delete: reviews have no single read, so its author's edit finds nothing. */
async function expectReviewGone(ctx: Ctx, path: string): Promise<void> {
  const edit = await restCall(ctx.app, ctx.app.customerToken, "PUT", path, { comment: "gone?" });
  expectProblem(edit, 404, "not_found");
}

/** A list of the owner's orders as `caller` sees it: only the caller's own unless an admin asks. */
function expectOrdersSeenBy(orders: { id: string; userId: string }[], ctx: Ctx): void {
  const { fx, caller } = ctx;
  const whose = caller === "other" ? fx.otherId : fx.ownerId;
  expect(orders.length).toBeGreaterThan(0);
  for (const order of orders) expect(order.userId, `order ${order.id} listed to ${caller}`).toBe(whose);
  const ids = orders.map((order) => order.id);
  expect(ids).toContain(caller === "other" ? fx.otherOrder.id : fx.order.id);
  expect(ids).not.toContain(caller === "other" ? fx.order.id : fx.otherOrder.id);
}

const productUpdate = (): RestCase => ({
  row: ADMIN_ONLY,
  status: 200,
  request: ({ fx }) => ({
    path: `/products/${fx.product.id}`,
    json: { description: "edited by the matrix" },
  }),
  check: (result, { fx }) => {
    const body = json(result);
    expectProductShape(body);
    expect(body).toMatchObject({ id: fx.product.id, description: "edited by the matrix" });
  },
});

const orderStatusChange = (): RestCase[] => [
  {
    scenario: "cancel a pending order",
    row: OWNERS_ORDER,
    status: 200,
    request: async ({ fx }) => ({
      path: `/orders/${(await fx.freshPendingOrder()).id}`,
      json: { status: "cancelled" },
    }),
    check: (result, { fx }) => {
      const body = json(result);
      expectOrderShape(body);
      expect(body).toMatchObject({ user_id: fx.ownerId, status: "cancelled" });
    },
  },
  {
    scenario: "pay a pending order",
    row: row(U, D, N, ok, D),
    status: 200,
    request: async ({ fx }) => ({
      path: `/orders/${(await fx.freshPendingOrder()).id}`,
      json: { status: "paid" },
    }),
    check: (result, { fx }) => {
      const body = json(result);
      expectOrderShape(body);
      expect(body).toMatchObject({ user_id: fx.ownerId, status: "paid" });
    },
  },
];

const REST: Record<string, RestCase | RestCase[]> = {
  "GET /healthz": {
    row: ANYONE,
    status: 200,
    request: () => ({ path: "/healthz" }),
    check: () => {},
  },
  "GET /readyz": {
    row: ANYONE,
    status: 200,
    request: () => ({ path: "/readyz" }),
    check: () => {},
  },
  "GET /metrics": {
    row: ANYONE,
    status: 200,
    request: () => ({ path: "/metrics" }),
    check: (result) => {
      expect(result.headers.get("content-type")).toMatch(/^text\/plain\b/);
      expect(result.text).toMatch(/^# (HELP|TYPE) /m);
    },
  },
  "GET /openapi.json": {
    row: ANYONE,
    status: 200,
    request: () => ({ path: "/openapi.json" }),
    check: (result) => {
      expect((json(result) as { openapi: string }).openapi).toMatch(/^3\.1\./);
    },
  },
  "GET /docs": {
    row: ANYONE,
    status: 200,
    request: () => ({ path: "/docs" }),
    check: (result) => {
      expect(result.headers.get("content-type")).toMatch(/^text\/html\b/);
    },
  },

  "POST /products": {
    row: ADMIN_ONLY,
    status: 201,
    request: () => ({ path: "/products", json: { name: uniqueName("Created"), price_cents: 500, stock: 3 } }),
    check: (result) => {
      const body = json(result);
      expectProductShape(body);
      expect(body).toMatchObject({ price_cents: 500, stock: 3 });
      expect(result.headers.get("location")).toContain(body.id);
    },
  },
  "GET /products": {
    row: ANYONE,
    status: 200,
    request: ({ fx }) => ({ path: `/products?page_size=100&q=${encodeURIComponent(fx.product.name)}` }),
    check: (result, { fx }) => {
      const body = json(result) as ProductListJson;
      for (const product of body.products) expectProductShape(product);
      expect(body.products.map((product) => product.id)).toContain(fx.product.id);
    },
  },
  "GET /products/{id}": {
    row: ANYONE,
    status: 200,
    request: ({ fx }) => ({ path: `/products/${fx.product.id}` }),
    check: (result, { fx }) => {
      const body = json(result);
      expectProductShape(body);
      expect(body.id).toBe(fx.product.id);
    },
  },
  "PUT /products/{id}": productUpdate(),
  "PATCH /products/{id}": productUpdate(),
  "DELETE /products/{id}": {
    row: ADMIN_ONLY,
    status: 204,
    request: async ({ fx }) => ({ path: `/products/${(await fx.freshProduct()).id}` }),
    check: (_, ctx, path) => expectGone(ctx, path),
  },

  "POST /orders": [
    {
      scenario: "for themselves",
      row: ANY_USER,
      status: 201,
      request: ({ fx }) => ({
        path: "/orders",
        json: { items: [{ product_id: fx.product.id, quantity: 1 }] },
      }),
      check: (result, { userId }) => {
        const body = json(result);
        expectOrderShape(body);
        expect(body).toMatchObject({ user_id: userId, status: "pending" });
      },
    },
    {
      scenario: "for the owner",
      row: row(U, ok, D, ok, D),
      status: 201,
      request: ({ fx }) => ({
        path: "/orders",
        json: { items: [{ product_id: fx.product.id, quantity: 1 }], user_id: fx.ownerId },
      }),
      check: (result, { fx }) => {
        const body = json(result);
        expectOrderShape(body);
        expect(body).toMatchObject({ user_id: fx.ownerId, status: "pending" });
      },
    },
  ],
  "GET /orders": {
    scenario: "the owner's",
    row: ANY_USER,
    status: 200,
    request: ({ fx }) => ({ path: `/orders?page_size=100&user_id=${encodeURIComponent(fx.ownerId)}` }),
    check: (result, ctx) => {
      const body = json(result) as OrderListJson;
      for (const order of body.orders) expectOrderShape(order);
      expectOrdersSeenBy(
        body.orders.map((order) => ({ id: order.id, userId: order.user_id })),
        ctx,
      );
    },
  },
  "GET /orders/{id}": {
    row: OWNERS_ORDER,
    status: 200,
    request: ({ fx }) => ({ path: `/orders/${fx.order.id}` }),
    check: (result, { fx }) => {
      const body = json(result) as OrderJson;
      expectOrderShape(body);
      expect(body).toMatchObject({ id: fx.order.id, user_id: fx.ownerId });
    },
  },
  "GET /orders/events": {
    row: ADMIN_ONLY,
    status: 200,
    stream: true,
    request: () => ({ path: "/orders/events" }),
    check: (result) => {
      expect(result.headers.get("content-type")).toBe("text/event-stream");
      expect(result.text).toBe("retry: 2000\nevent: ready\ndata: {}\n");
    },
  },
  "PUT /orders/{id}": orderStatusChange(),
  "PATCH /orders/{id}": orderStatusChange(),

  "POST /products/{id}/reviews": {
    row: ANY_USER,
    status: 201,
    request: async ({ fx }) => ({
      path: `/products/${(await fx.freshProduct()).id}/reviews`,
      json: { rating: 5, comment: "written in the matrix" },
    }),
    check: (result, { userId }) => {
      expect(expectReviewResult(result, 201)).toMatchObject({ user_id: userId, rating: 5 });
    },
  },
  "GET /products/{id}/reviews": {
    row: ANYONE,
    status: 200,
    request: ({ fx }) => ({ path: `/products/${fx.product.id}/reviews?page_size=100` }),
    check: (result, { fx }) => {
      const page = expectReviewListResult(result);
      expect(page.reviews.map((review) => review.id)).toContain(fx.review.id);
      expect(page.review_count).toBeGreaterThanOrEqual(1);
    },
  },
  "PUT /reviews/{id}": {
    scenario: "the owner's",
    row: row(U, ok, D, D, D),
    status: 200,
    request: ({ fx }) => ({ path: `/reviews/${fx.review.id}`, json: { comment: "edited in the matrix" } }),
    check: (result, { fx }) => {
      expect(expectReviewResult(result, 200)).toMatchObject({
        id: fx.review.id,
        user_id: fx.ownerId,
        comment: "edited in the matrix",
      });
    },
  },
  "DELETE /reviews/{id}": {
    scenario: "the owner's",
    row: row(U, ok, D, ok, D),
    status: 204,
    request: async ({ fx }) => ({ path: `/reviews/${(await fx.freshReview()).id}` }),
    check: (_, ctx, path) => expectReviewGone(ctx, path),
  },

  "GET /stats/user-orders/{user_id}": {
    scenario: "the owner's",
    row: row(U, ok, D, ok, D),
    status: 200,
    request: ({ fx }) => ({ path: `/stats/user-orders/${encodeURIComponent(fx.ownerId)}` }),
    check: (result, { fx }) => {
      expect(expectUserOrderStats(result).user_id).toBe(fx.ownerId);
    },
  },
  "GET /stats/user": {
    row: ADMIN_ONLY,
    status: 200,
    request: () => ({ path: "/stats/user" }),
    // The projection is eventually consistent (and RebuildStatistics may be replaying it): the
    // figures' shape, not their values.
    check: (result) => {
      expectStoreStats(result);
    },
  },

  "GET /stats/orders-by-hour": {
    row: ADMIN_ONLY,
    status: 200,
    request: () => ({ path: "/stats/orders-by-hour" }),
    // Eventually consistent: the shape (24 hours in order), not the counts.
    check: (result) => {
      const body = JSON.parse(result.text) as { orders_by_hour: { hour: number; count: number }[] };
      expectEveryHour(body.orders_by_hour);
    },
  },

  "GET /discounts/products": {
    row: ANYONE,
    status: 200,
    request: () => ({ path: "/discounts/products?page_size=100" }),
    check: (result, { fx }) => {
      const body = json(result) as { products: (ProductJson & { percent_off: number })[] };
      const item = body.products.find((product) => product.id === fx.product.id);
      expect(item, "the discounted fixture product").toMatchObject({
        percent_off: 10,
        discounted_price_cents: 900,
      });
    },
  },
  "POST /discounts": {
    row: ADMIN_ONLY,
    status: 201,
    request: ({ fx }) => ({
      path: "/discounts",
      json: {
        name: uniqueName("Discount"),
        percent_off: 10,
        product_ids: [fx.product.id],
        starts_at: pastHour().toISOString(),
        ends_at: nextDay().toISOString(),
      },
    }),
    check: (result, { fx }) => {
      expect(json(result)).toMatchObject({ percent_off: 10, product_ids: [fx.product.id], active: true });
    },
  },
  "GET /discounts": {
    row: ADMIN_ONLY,
    status: 200,
    request: () => ({ path: "/discounts?page_size=100" }),
    check: (result, { fx }) => {
      const body = json(result) as { discounts: { id: string }[] };
      expect(body.discounts.map((discount) => discount.id)).toContain(fx.discountId);
    },
  },
  "DELETE /discounts/{id}": {
    row: ADMIN_ONLY,
    status: 204,
    request: async ({ fx }) => ({ path: `/discounts/${await fx.freshDiscount()}` }),
    check: (_, ctx, path) => expectDiscountGone(ctx, path.split("/").pop() ?? ""),
  },
};

const RPC: Record<string, RpcCase[]> = {
  "ecommerce.inventory.v1.InventoryService/CreateProduct": rpc<typeof InventoryService.method.createProduct>({
    row: ADMIN_ONLY,
    request: () => ({ name: uniqueName("Created"), priceCents: 500n, stock: 3 }),
    check: (response) => {
      expect(response.product).toMatchObject({ priceCents: 500n, stock: 3 });
      expect(response.product?.id).not.toBe("");
    },
  }),
  "ecommerce.inventory.v1.InventoryService/GetProduct": rpc<typeof InventoryService.method.getProduct>({
    row: ANYONE,
    request: ({ fx }) => ({ id: fx.product.id }),
    check: (response, { fx }) => {
      expect(response.product?.id).toBe(fx.product.id);
    },
  }),
  "ecommerce.inventory.v1.InventoryService/ListProducts": rpc<typeof InventoryService.method.listProducts>({
    row: ANYONE,
    request: ({ fx }) => ({ q: fx.product.name, pageSize: 100 }),
    check: (response, { fx }) => {
      expect(response.products.map((product) => product.id)).toContain(fx.product.id);
    },
  }),
  "ecommerce.inventory.v1.InventoryService/UpdateProduct": rpc<typeof InventoryService.method.updateProduct>({
    row: ADMIN_ONLY,
    request: ({ fx }) => ({ id: fx.product.id, description: "edited by the matrix" }),
    check: (response, { fx }) => {
      expect(response.product).toMatchObject({ id: fx.product.id, description: "edited by the matrix" });
    },
  }),
  "ecommerce.inventory.v1.InventoryService/DeleteProduct": rpc<typeof InventoryService.method.deleteProduct>({
    row: ADMIN_ONLY,
    request: async ({ fx }) => ({ id: (await fx.freshProduct()).id }),
    check: async (response, ctx, request) => {
      expect(response.$typeName).toBe("ecommerce.inventory.v1.DeleteProductResponse");
      await expectGone(ctx, `/products/${request.id}`);
    },
  }),
  "ecommerce.inventory.v1.InventoryService/CreateDiscount": rpc<
    typeof InventoryService.method.createDiscount
  >({
    row: ADMIN_ONLY,
    request: ({ fx }) => ({
      name: uniqueName("Discount"),
      percentOff: 10,
      productIds: [fx.product.id],
      startsAt: timestampFromDate(pastHour()),
      endsAt: timestampFromDate(nextDay()),
    }),
    check: (response, { fx }) => {
      expect(response.discount).toMatchObject({ percentOff: 10, productIds: [fx.product.id], active: true });
    },
  }),
  "ecommerce.inventory.v1.InventoryService/ListDiscounts": rpc<typeof InventoryService.method.listDiscounts>({
    row: ADMIN_ONLY,
    request: () => ({ pageSize: 100 }),
    check: (response, { fx }) => {
      expect(response.discounts.map((discount) => discount.id)).toContain(fx.discountId);
    },
  }),
  "ecommerce.inventory.v1.InventoryService/DeleteDiscount": rpc<
    typeof InventoryService.method.deleteDiscount
  >({
    row: ADMIN_ONLY,
    request: async ({ fx }) => ({ id: await fx.freshDiscount() }),
    check: async (response, ctx, request) => {
      expect(response.$typeName).toBe("ecommerce.inventory.v1.DeleteDiscountResponse");
      await expectDiscountGone(ctx, request.id ?? "");
    },
  }),
  "ecommerce.inventory.v1.InventoryService/ListDiscountedProducts": rpc<
    typeof InventoryService.method.listDiscountedProducts
  >({
    row: ANYONE,
    request: () => ({ pageSize: 100 }),
    check: (response, { fx }) => {
      const item = response.products.find((product) => product.product?.id === fx.product.id);
      expect(item, "the discounted fixture product").toMatchObject({
        percentOff: 10,
        discountedPriceCents: 900n,
      });
    },
  }),

  "ecommerce.inventory.v1.StockService/ReserveStock": rpc<typeof StockService.method.reserveStock>({
    row: SERVICE_ONLY,
    request: ({ fx }) => ({
      orderId: `matrix-${Math.random().toString(36).slice(2)}`,
      lines: [{ productId: fx.product.id, quantity: 1 }],
    }),
    check: (response, { fx }) => {
      expect(response.lines).toHaveLength(1);
      expect(response.lines[0]).toMatchObject({
        productId: fx.product.id,
        quantity: 1,
        unitPriceCents: 1000n,
      });
      expect(response.expiresAt).toBeDefined();
    },
  }),
  "ecommerce.inventory.v1.StockService/ReserveStocks": rpc<typeof StockService.method.reserveStocks>({
    row: SERVICE_ONLY,
    request: ({ fx }) => ({
      reservations: [1, 2].map((n) => ({
        orderId: `matrix-${n}-${Math.random().toString(36).slice(2)}`,
        lines: [{ productId: fx.product.id, quantity: 1 }],
      })),
    }),
    check: (response, { fx }) => {
      expect(response.outcomes).toHaveLength(2);
      for (const { outcome } of response.outcomes) {
        expect(outcome.case).toBe("reserved");
        if (outcome.case === "reserved") {
          expect(outcome.value.lines).toEqual([
            expect.objectContaining({ productId: fx.product.id, quantity: 1, unitPriceCents: 1000n }),
          ]);
        }
      }
    },
  }),
  "ecommerce.inventory.v1.StockService/ConfirmReservations": rpc<
    typeof StockService.method.confirmReservations
  >({
    row: SERVICE_ONLY,
    request: async ({ fx }) => ({ orderIds: [await fx.freshReservation()] }),
    check: (response) => {
      expect(response).toMatchObject({ releasedOrderIds: [], unknownOrderIds: [] });
    },
  }),
  "ecommerce.inventory.v1.StockService/ReleaseReservation": rpc<
    typeof StockService.method.releaseReservation
  >({
    row: SERVICE_ONLY,
    request: async ({ fx }) => ({ orderId: await fx.freshReservation() }),
    check: (response) => {
      expect(response.released).toBe(true);
    },
  }),

  "ecommerce.orders.v1.OrderBatchService/CreateOrders": rpc<typeof OrderBatchService.method.createOrders>({
    row: SERVICE_ONLY,
    // The batch carries the owner's own call: the owner's order is created, whoever sent the batch.
    request: ({ app, fx }) => ({
      orders: [
        {
          request: { items: [{ productId: fx.product.id, quantity: 1 }] },
          authorization: `Bearer ${app.customerToken}`,
        },
      ],
    }),
    check: (response, { fx }) => {
      expect(response.outcomes).toHaveLength(1);
      const [only] = response.outcomes;
      expect(only?.outcome.case).toBe("created");
      if (only?.outcome.case === "created")
        expect(only.outcome.value.order).toMatchObject({ userId: fx.ownerId, status: OrderStatus.PENDING });
    },
  }),

  "ecommerce.orders.v1.OrderService/CreateOrder": rpc<typeof OrderService.method.createOrder>(
    {
      scenario: "for themselves",
      row: ANY_USER,
      request: ({ fx }) => ({ items: [{ productId: fx.product.id, quantity: 1 }] }),
      check: (response, { userId }) => {
        expect(response.order).toMatchObject({ userId, status: OrderStatus.PENDING });
      },
    },
    {
      scenario: "for the owner",
      row: row(U, ok, D, ok, D),
      request: ({ fx }) => ({ items: [{ productId: fx.product.id, quantity: 1 }], userId: fx.ownerId }),
      check: (response, { fx }) => {
        expect(response.order).toMatchObject({ userId: fx.ownerId, status: OrderStatus.PENDING });
      },
    },
  ),
  "ecommerce.orders.v1.OrderService/GetOrder": rpc<typeof OrderService.method.getOrder>({
    row: OWNERS_ORDER,
    request: ({ fx }) => ({ id: fx.order.id }),
    check: (response, { fx }) => {
      expect(response.order).toMatchObject({ id: fx.order.id, userId: fx.ownerId });
    },
  }),
  "ecommerce.orders.v1.OrderService/ListOrders": rpc<typeof OrderService.method.listOrders>({
    scenario: "the owner's",
    row: ANY_USER,
    request: ({ fx }) => ({ userId: fx.ownerId, pageSize: 100 }),
    check: (response, ctx) => {
      expectOrdersSeenBy(response.orders, ctx);
    },
  }),
  "ecommerce.orders.v1.OrderService/UpdateOrderStatus": rpc<typeof OrderService.method.updateOrderStatus>(
    {
      scenario: "cancel a pending order",
      row: OWNERS_ORDER,
      request: async ({ fx }) => ({ id: (await fx.freshPendingOrder()).id, status: OrderStatus.CANCELLED }),
      check: (response, { fx }) => {
        expect(response.order).toMatchObject({ userId: fx.ownerId, status: OrderStatus.CANCELLED });
      },
    },
    {
      scenario: "pay a pending order",
      row: row(U, D, N, ok, D),
      request: async ({ fx }) => ({ id: (await fx.freshPendingOrder()).id, status: OrderStatus.PAID }),
      check: (response, { fx }) => {
        expect(response.order).toMatchObject({ userId: fx.ownerId, status: OrderStatus.PAID });
      },
    },
  ),
  "ecommerce.orders.v1.OrderService/WatchOrders": rpc<typeof OrderService.method.watchOrders>({
    row: ADMIN_ONLY,
    request: () => ({}),
    // The first message of the stream, which carries no event: the watch is in place.
    check: (response) => {
      expect(response.$typeName).toBe("ecommerce.orders.v1.WatchOrdersResponse");
      expect(response.event.case).toBeUndefined();
    },
  }),
  "ecommerce.orders.v1.OrderService/CreateReview": rpc<typeof OrderService.method.createReview>({
    row: ANY_USER,
    request: async ({ fx }) => ({ productId: (await fx.freshProduct()).id, rating: 5, comment: "matrix" }),
    check: (response, { userId }) => {
      expect(response.review).toMatchObject({ userId, rating: 5 });
    },
  }),
  "ecommerce.orders.v1.OrderService/ListReviews": rpc<typeof OrderService.method.listReviews>({
    row: ANYONE,
    request: ({ fx }) => ({ productId: fx.product.id, pageSize: 100 }),
    check: (response, { fx }) => {
      expect(response.reviews.map((review) => review.id)).toContain(fx.review.id);
      expect(response.reviewCount).toBeGreaterThanOrEqual(1);
    },
  }),
  "ecommerce.orders.v1.OrderService/UpdateReview": rpc<typeof OrderService.method.updateReview>({
    scenario: "the owner's",
    row: row(U, ok, D, D, D),
    request: ({ fx }) => ({ id: fx.review.id, comment: "edited in the matrix" }),
    check: (response, { fx }) => {
      expect(response.review).toMatchObject({
        id: fx.review.id,
        userId: fx.ownerId,
        comment: "edited in the matrix",
      });
    },
  }),
  "ecommerce.orders.v1.OrderService/DeleteReview": rpc<typeof OrderService.method.deleteReview>({
    scenario: "the owner's",
    row: row(U, ok, D, ok, D),
    request: async ({ fx }) => ({ id: (await fx.freshReview()).id }),
    check: async (response, ctx, request) => {
      expect(response.$typeName).toBe("ecommerce.orders.v1.DeleteReviewResponse");
      await expectReviewGone(ctx, `/reviews/${request.id}`);
    },
  }),

  "ecommerce.statistics.v1.StatisticsService/GetUserOrderStatistics": rpc<
    typeof StatisticsService.method.getUserOrderStatistics
  >({
    scenario: "the owner's",
    row: row(U, ok, D, ok, D),
    request: ({ fx }) => ({ userId: fx.ownerId }),
    check: (response, { fx }) => {
      expect(response.userId).toBe(fx.ownerId);
      expectEveryHour(response.ordersByHour);
    },
  }),
  "ecommerce.statistics.v1.StatisticsService/GetUserStatistics": rpc<
    typeof StatisticsService.method.getUserStatistics
  >({
    row: ADMIN_ONLY,
    request: () => ({}),
    check: (response) => {
      expect(response.$typeName).toBe("ecommerce.statistics.v1.GetUserStatisticsResponse");
      expect(response.revenueCents).toBeTypeOf("bigint");
    },
  }),
  "ecommerce.statistics.v1.StatisticsService/GetOrdersByHour": rpc<
    typeof StatisticsService.method.getOrdersByHour
  >({
    row: ADMIN_ONLY,
    request: () => ({}),
    check: (response) => {
      expect(response.$typeName).toBe("ecommerce.statistics.v1.GetOrdersByHourResponse");
      expectEveryHour(response.ordersByHour);
    },
  }),
  "ecommerce.statistics.v1.StatisticsService/RebuildStatistics": rpc<
    typeof StatisticsService.method.rebuildStatistics
  >({
    row: ADMIN_ONLY,
    request: () => ({}),
    check: (response) => {
      expect(response.$typeName).toBe("ecommerce.statistics.v1.RebuildStatisticsResponse");
    },
    allowedMeets: { embedded: { code: "failed_precondition", reason: "NO_EVENT_STREAM" } },
  }),
};

// ---------------------------------------------------------------------------------------------

const METHODS = rpcMethods(SERVICES);
const cases = <T>(entry: T | T[]): T[] => (Array.isArray(entry) ? entry : [entry]);
const label = (scenario: string | undefined) => (scenario === undefined ? "" : ` [${scenario}]`);

describe.each(inProcessSetups())("authorization matrix (%s)", (setup) => {
  let app: TestApp;
  let fx: Fixtures;
  let tokens: Credentials;
  let rpcs: RpcCallers;
  const userIds: Partial<Record<Caller, string>> = {};
  const ctx = (caller: Caller): Ctx => ({ app, fx, caller, userId: userIds[caller] });

  beforeAll(async () => {
    // Fresh pending orders pile up for the owner (one per status-change cell): lift the cap on
    // pending orders, which is no part of what this suite checks.
    app = await startTestApp(setup, { MAX_PENDING_ORDERS: "100000" });
    tokens = await credentials(app);
    for (const caller of CALLERS) {
      const token = tokens[caller];
      if (token !== undefined) userIds[caller] = subjectOf(token);
    }
    fx = await buildFixtures(app);
    rpcs = rpcCallers(app);
  });
  afterAll(async () => {
    rpcs?.close();
    await app?.stop();
  });

  it("names every REST route of GET /openapi.json, and no route that does not exist", async () => {
    const result = await restCall(app, undefined, "GET", "/openapi.json");
    expect(result.status, result.text).toBe(200);
    const served = [...openApiRoutes(result.body as never), ...ROUTES_OUTSIDE_OPENAPI].sort();
    const named = Object.keys(REST).sort();
    expect(
      served.filter((route) => !named.includes(route)),
      "routes without an entry in the table",
    ).toEqual([]);
    expect(
      named.filter((route) => !served.includes(route)),
      "routes in the table that do not exist",
    ).toEqual([]);
  });

  it("names every RPC of the services, and no RPC that does not exist", () => {
    const served = [...METHODS.keys()].sort();
    const named = Object.keys(RPC).sort();
    expect(
      served.filter((key) => !named.includes(key)),
      "RPCs without an entry in the table",
    ).toEqual([]);
    expect(
      named.filter((key) => !served.includes(key)),
      "RPCs in the table that do not exist",
    ).toEqual([]);
  });

  for (const [key, entry] of Object.entries(REST)) {
    const [verb = "", template = ""] = key.split(" ");
    for (const spec of cases(entry)) {
      for (const caller of CALLERS) {
        const expected = spec.row[caller];
        it(`REST ${key}${label(spec.scenario)} as ${caller} → ${expectedRestOutcome(expected)}`, async () => {
          const context = ctx(caller);
          const request = await spec.request(context);
          expect(fitsTemplate(template, request.path), `${request.path} is not ${template}`).toBe(true);
          const result = spec.stream
            ? await restStreamCall(app, tokens[caller], request.path)
            : await restCall(app, tokens[caller], verb, request.path, request.json);
          expect(restOutcome(result), `${verb} ${request.path} → ${result.status} ${result.text}`).toBe(
            expectedRestOutcome(expected),
          );
          if (expected === "ok") {
            expect(result.status, result.text).toBe(spec.status);
            await spec.check(result, context, request.path);
          } else {
            expectProblem(result, HTTP_STATUS[expected], expected);
          }
        });
      }
    }
  }

  for (const [key, entry] of Object.entries(RPC)) {
    const method = METHODS.get(key);
    if (method === undefined) continue; // reported by the completeness test above
    for (const spec of entry) {
      for (const caller of CALLERS) {
        const allowedMeets = spec.allowedMeets?.[setup];
        const expected = spec.row[caller];
        const expectedOutcome =
          expected === "ok" && allowedMeets !== undefined ? allowedMeets.code : expected;
        for (const protocol of ["connect", "grpc"] as const) {
          const name = protocol === "connect" ? "Connect" : "gRPC";
          it(`${name} ${key}${label(spec.scenario)} as ${caller} → ${expectedOutcome}`, async () => {
            const context = ctx(caller);
            const request = await spec.request(context);
            const result = await rpcs[protocol](method, request, tokens[caller]);
            const detail = "error" in result ? String(result.error) : "";
            expect(result.outcome, `${key} → ${detail}`).toBe(expectedOutcome);
            if ("message" in result) await spec.check(result.message, context, request);
            if (
              allowedMeets !== undefined &&
              expected === "ok" &&
              "error" in result &&
              result.error instanceof ConnectError
            ) {
              expect(result.error.findDetails(ErrorReasonSchema)[0]?.reason).toBe(allowedMeets.reason);
            }
          });
        }
      }
    }
  }
});
