/**
 * CreateOrders: many callers' orders in one internal call, each run by CreateOrder's handler as
 * its caller's own call would be — its Authorization, request id and deadline — and answered on its
 * own: a refusal or a failure is that order's alone (a server failure without its cause, logged as
 * CreateOrder's with the order's request id). The call itself is for services only and bounded.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createHandlerContext } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { capturedLog } from "../../../test/support/captured-log.js";
import {
  type CallerOrder,
  type CreateOrdersResponse,
  OrderBatchService,
} from "../../gen/ecommerce/orders/v1/order_batch_service_pb.js";
import { OrderSchema } from "../../gen/ecommerce/orders/v1/order_pb.js";
import { CreateOrderResponseSchema } from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import { Authenticator, mintToken, ServiceCredential, TokenVerifier } from "../../platform/auth/index.js";
import { REQUEST_CONTEXT } from "../../platform/observability/index.js";
import { businessError, fromItemError } from "../../platform/rpc/index.js";
import { createOrdersHandler } from "./order-batch-handler.js";
import type { OrderRpc } from "./order-handlers.js";

const SECRET = "order-batch-handler-test-secret-0123456789";
const auth = new Authenticator(new TokenVerifier(SECRET));
const bearer = async (sub: string, role: "customer" | "admin") =>
  `Bearer ${await mintToken(SECRET, { sub, role })}`;

let service: string;
let alice: string;
let bob: string;
beforeAll(async () => {
  service = await new ServiceCredential(SECRET, { caller: "gateway" }).authorization();
  alice = await bearer("alice", "customer");
  bob = await bearer("bob", "customer");
});

/** What CreateOrder's handler saw of each call it ran. */
interface Seen {
  productId: string;
  requestId: string | undefined;
  timeoutMs: number | undefined;
}

/**
 * CreateOrder as a stand-in: authorizes the caller for real, then by product id refuses
 * ("sold-out"), fails like a lost database ("boom"), waits for its deadline ("slow") or for
 * another order ("meet"), and creates the order for the caller.
 */
function fakeCreateOrder(seen: Seen[]): OrderRpc<"createOrder"> {
  return async (request, context) => {
    const principal = await auth.requireUser(context);
    const productId = request.items[0]?.productId ?? "";
    seen.push({
      productId,
      requestId: context.values.get(REQUEST_CONTEXT)?.requestId,
      timeoutMs: context.timeoutMs(),
    });
    if (productId === "sold-out") throw businessError(Code.FailedPrecondition, "OUT_OF_STOCK", "sold out");
    if (productId === "boom") throw new Error("connect ECONNREFUSED 10.0.0.3:5432");
    if (productId === "meet") await meeting(seen, context.signal);
    if (productId === "slow") {
      await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
      throw new ConnectError("the request did not finish in time", Code.DeadlineExceeded);
    }
    return create(CreateOrderResponseSchema, {
      order: create(OrderSchema, { id: `order-of-${principal.userId}`, userId: principal.userId }),
    });
  };
}

/** Resolves once two "meet" orders have started; rejects at the deadline. */
async function meeting(seen: Seen[], signal: AbortSignal): Promise<void> {
  while (seen.filter((entry) => entry.productId === "meet").length < 2) {
    if (signal.aborted) throw new ConnectError("the request did not finish in time", Code.DeadlineExceeded);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function batchCall(seen: Seen[] = []) {
  const log = capturedLog("warn");
  const handler = createOrdersHandler({ auth, logger: log.logger }, fakeCreateOrder(seen));
  /** `authorization` null: the batch call sends none. */
  const call = async (orders: Partial<CallerOrder>[], authorization: string | null = service) => {
    const context = createHandlerContext({
      service: OrderBatchService,
      method: OrderBatchService.method.createOrders,
      protocolName: "connect",
      requestMethod: "POST",
      url: "http://127.0.0.1/ecommerce.orders.v1.OrderBatchService/CreateOrders",
      timeoutMs: 5_000,
      requestHeader: authorization === null ? {} : { authorization },
    });
    return (await handler({ orders } as never, context)) as CreateOrdersResponse;
  };
  return { call, log, seen };
}

const order = (productId: string, authorization: string, extra: Partial<CallerOrder> = {}) =>
  ({
    request: { items: [{ productId, quantity: 1 }], userId: "", idempotencyKey: "" },
    authorization,
    requestId: "",
    timeoutMs: 0,
    traceparent: "",
    ...extra,
  }) as Partial<CallerOrder>;

/** Each outcome as `created <user>` or the Connect code and reason of its failure. */
function summary(response: CreateOrdersResponse): string[] {
  return response.outcomes.map(({ outcome }) => {
    if (outcome.case === "created") return `created ${outcome.value.order?.userId}`;
    if (outcome.case === "failed") {
      const error = fromItemError(outcome.value);
      return `${Code[error.code]}${outcome.value.reason ? ` ${outcome.value.reason}` : ""}`;
    }
    return "none";
  });
}

describe("CreateOrders", () => {
  it("serves only the platform's own processes", async () => {
    const { call } = batchCall();
    await expect(call([order("p", alice)], alice)).rejects.toMatchObject({ code: Code.PermissionDenied });
    await expect(call([order("p", alice)], null)).rejects.toMatchObject({ code: Code.Unauthenticated });
  });

  it("takes 1 to 50 orders", async () => {
    const { call, seen } = batchCall();
    for (const count of [0, 51]) {
      const error = ConnectError.from(
        await call(Array.from({ length: count }, () => order("p", alice))).catch((thrown: unknown) => thrown),
      );
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toContain("orders");
    }
    expect(seen).toEqual([]);
    const fifty = await call(Array.from({ length: 50 }, () => order("p", alice)));
    expect(fifty.outcomes).toHaveLength(50);
  });

  it("runs each order as its own caller, answering each in the order asked", async () => {
    const { call } = batchCall();
    const response = await call([
      order("p", alice),
      order("p", bob),
      order("p", ""),
      order("p", service),
      order("p", "Bearer not-a-token"),
      order("p", `${alice}\r\nx-evil: 1`),
    ]);
    expect(summary(response)).toEqual([
      "created alice",
      "created bob",
      "Unauthenticated",
      // The credential that may send the batch orders nothing for anyone.
      "PermissionDenied",
      "Unauthenticated",
      "Unauthenticated",
    ]);
  });

  it("answers an order's refusal or failure as CreateOrder would, the others unharmed", async () => {
    const { call, log } = batchCall();
    const response = await call([
      order("sold-out", alice),
      order("boom", bob, { requestId: "req-boom-1" }),
      order("p", alice),
    ]);
    expect(summary(response)).toEqual(["FailedPrecondition OUT_OF_STOCK", "Internal", "created alice"]);
    const failed = response.outcomes[1]?.outcome;
    // A server failure says nothing of its cause to the caller…
    expect(failed?.case === "failed" && failed.value.message).toBe("internal error");
    const said = response.outcomes.map(({ outcome }) =>
      outcome.case === "failed" ? outcome.value.message : "",
    );
    expect(said.join(" ")).not.toContain("ECONNREFUSED");
    // …and is logged where it happened, as CreateOrder's, under the order's own request id.
    expect(log.lines).toEqual([
      expect.objectContaining({
        operation: "/ecommerce.orders.v1.OrderService/CreateOrder",
        requestId: "req-boom-1",
        code: "Internal",
      }),
    ]);
    expect(JSON.stringify(log.lines)).toContain("ECONNREFUSED");
  });

  it("gives each order its request id (a new one when not sane) and its own deadline", async () => {
    const { call, seen } = batchCall();
    const response = await call([
      order("slow", alice, { requestId: "req-slow", timeoutMs: 30 }),
      order("p", bob, { requestId: "not sane: spaces", timeoutMs: 0 }),
    ]);
    expect(summary(response)).toEqual(["DeadlineExceeded", "created bob"]);
    const slow = seen.find((entry) => entry.productId === "slow");
    const other = seen.find((entry) => entry.productId === "p");
    expect(slow?.requestId).toBe("req-slow");
    expect(slow?.timeoutMs).toBeLessThanOrEqual(30);
    expect(other?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    // No deadline of its own: the batch call's.
    expect(other?.timeoutMs).toBeGreaterThan(4_000);
  });

  it("runs the orders concurrently, not one after another", async () => {
    const { call } = batchCall();
    // Each "meet" order waits for the other to have started: one after another, the first would
    // wait until its deadline.
    const response = await call([
      order("meet", alice, { timeoutMs: 2_000 }),
      order("meet", bob, { timeoutMs: 2_000 }),
    ]);
    expect(summary(response)).toEqual(["created alice", "created bob"]);
  });
});
