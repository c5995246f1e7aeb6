/**
 * How the REST side places orders (order-placement.ts): one CreateOrder each with orders in
 * process; with orders elsewhere, a lone order still goes at once as CreateOrder, and the orders
 * placed while a call is on its way go together in one CreateOrders call carrying each caller's
 * Authorization, request id and deadline, each caller getting the answer or the very ConnectError
 * its own call would have got, and giving up at its own deadline.
 */
import { create } from "@bufbuild/protobuf";
import { type CallOptions, Code, ConnectError } from "@connectrpc/connect";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import {
  ErrorReasonSchema,
  FieldViolationsSchema,
  ItemErrorSchema,
} from "../gen/ecommerce/common/v1/error_details_pb.js";
import type { CreateOrdersRequest } from "../gen/ecommerce/orders/v1/order_batch_service_pb.js";
import {
  type CreateOrderRequest,
  type CreateOrderResponse,
  CreateOrderResponseSchema,
} from "../gen/ecommerce/orders/v1/order_service_pb.js";
import { REQUEST_CONTEXT } from "../platform/observability/index.js";
import { setActiveTracer } from "../platform/observability/tracing.js";
import { type OrderCaller, orderPlacement } from "./order-placement.js";

const TIMEOUT_MS = 10_000;

const caller = (name: string): OrderCaller => ({
  authorization: `Bearer ${name}`,
  context: { requestId: `req-${name}`, traceId: undefined },
});

/** A caller who sent no Authorization header. */
const anonymous = (name: string): OrderCaller => ({ ...caller(name), authorization: undefined });

const request = (productId: string) => ({ items: [{ productId, quantity: 1 }] });

const orderOf = (userId: string): CreateOrderResponse =>
  create(CreateOrderResponseSchema, { order: { id: `order-${userId}`, userId } });

/** A promise and the function that resolves it. */
function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/** Fake clients recording every call; CreateOrder answers when `release` is called, if held. */
function fakeOrders(options: { hold?: boolean } = {}) {
  const single: { request: CreateOrderRequest; options: CallOptions | undefined }[] = [];
  const batches: { request: CreateOrdersRequest; options: CallOptions | undefined }[] = [];
  const held = deferred<void>();
  let answerBatch: (request: CreateOrdersRequest) => Promise<unknown> = async (batch) => ({
    outcomes: batch.orders.map((order) => ({
      outcome: { case: "created", value: orderOf(order.authorization.replace("Bearer ", "")) },
    })),
  });
  const orders = {
    createOrder: async (message: CreateOrderRequest, callOptions?: CallOptions) => {
      single.push({ request: message, options: callOptions });
      if (options.hold) await held.promise;
      return orderOf("alone");
    },
  };
  const client = {
    createOrders: async (message: CreateOrdersRequest, callOptions?: CallOptions) => {
      batches.push({ request: message, options: callOptions });
      return answerBatch(message);
    },
  };
  const place = orderPlacement(orders as never, {
    client: client as never,
    credential: async () => "Bearer service-credential",
    timeoutMs: TIMEOUT_MS,
  });
  return {
    place,
    single,
    batches,
    release: () => held.resolve(),
    answerBatchWith: (answer: typeof answerBatch) => {
      answerBatch = answer;
    },
  };
}

/** Places the first order (held in flight), then `names`' orders while it is on its way. */
async function placeWhileOneIsOnItsWay(fake: ReturnType<typeof fakeOrders>, names: (string | undefined)[]) {
  const first = fake.place(request("first"), caller("first"));
  await new Promise((resolve) => setImmediate(resolve));
  const rest = names.map((name, index) =>
    fake.place(request(`p${index}`), name === undefined ? anonymous(`anon${index}`) : caller(name)),
  );
  fake.release();
  await first;
  return Promise.allSettled(rest);
}

describe("orderPlacement", () => {
  it("with orders in process, calls CreateOrder with the caller's header and request", async () => {
    const calls: CallOptions[] = [];
    const place = orderPlacement({
      createOrder: async (_request: unknown, options: CallOptions) => {
        calls.push(options);
        return orderOf("alice");
      },
    } as never);
    await expect(place(request("p"), caller("alice"))).resolves.toEqual(orderOf("alice"));
    expect(new Headers(calls[0]?.headers).get("authorization")).toBe("Bearer alice");
    expect(calls[0]?.contextValues?.get(REQUEST_CONTEXT)?.requestId).toBe("req-alice");
  });

  it("sends a lone order at once as CreateOrder, with its caller's header and deadline", async () => {
    const fake = fakeOrders();
    await expect(fake.place(request("p"), caller("alice"))).resolves.toEqual(orderOf("alone"));
    expect(fake.batches).toEqual([]);
    const [only] = fake.single;
    expect(only?.request.items[0]?.productId).toBe("p");
    expect(new Headers(only?.options?.headers).get("authorization")).toBe("Bearer alice");
    expect(only?.options?.contextValues?.get(REQUEST_CONTEXT)?.requestId).toBe("req-alice");
    expect(only?.options?.timeoutMs).toBeGreaterThan(TIMEOUT_MS - 1_000);
    expect(only?.options?.timeoutMs).toBeLessThanOrEqual(TIMEOUT_MS);
  });

  it("sends the orders placed meanwhile in one CreateOrders call, each with its caller's own", async () => {
    const fake = fakeOrders({ hold: true });
    const results = await placeWhileOneIsOnItsWay(fake, ["bob", "carol", undefined]);
    expect(results.map((result) => result.status === "fulfilled" && result.value.order?.userId)).toEqual([
      "bob",
      "carol",
      // No Authorization sent: the batch says so, and orders refuses that order alone (the fake
      // answers it as if created).
      "",
    ]);
    expect(fake.single).toHaveLength(1);
    expect(fake.batches).toHaveLength(1);
    const [batch] = fake.batches;
    expect(new Headers(batch?.options?.headers).get("authorization")).toBe("Bearer service-credential");
    const items = batch?.request.orders ?? [];
    expect(
      items.map((item) => [item.authorization, item.requestId, item.request?.items[0]?.productId]),
    ).toEqual([
      ["Bearer bob", "req-bob", "p0"],
      ["Bearer carol", "req-carol", "p1"],
      ["", "req-anon2", "p2"],
    ]);
    for (const item of items) {
      expect(item.timeoutMs).toBeGreaterThan(TIMEOUT_MS - 1_000);
      expect(item.timeoutMs).toBeLessThanOrEqual(TIMEOUT_MS);
      // Tracing is off: no trace to continue.
      expect(item.traceparent).toBe("");
    }
    expect(batch?.options?.timeoutMs).toBe(Math.max(...items.map((item) => item.timeoutMs)));
  });

  it("rethrows an order's failure as the ConnectError its own call would have got", async () => {
    const fake = fakeOrders({ hold: true });
    fake.answerBatchWith(async () => ({
      outcomes: [
        {
          outcome: {
            case: "failed",
            value: create(ItemErrorSchema, {
              code: Code.FailedPrecondition,
              message: "not enough stock",
              reason: "OUT_OF_STOCK",
            }),
          },
        },
        {
          outcome: {
            case: "failed",
            value: create(ItemErrorSchema, {
              code: Code.InvalidArgument,
              message: "items[0].quantity: too many",
              fieldViolations: [{ field: "items[0].quantity", message: "too many" }],
            }),
          },
        },
        { outcome: { case: "created", value: orderOf("carol") } },
        // The fourth order got no outcome.
      ],
    }));
    const [stock, invalid, created, missing] = await placeWhileOneIsOnItsWay(fake, [
      "alice",
      "bob",
      "carol",
      "dave",
    ]);
    const reasonOf = (result: PromiseSettledResult<unknown> | undefined) => {
      const error = ConnectError.from(result?.status === "rejected" ? result.reason : undefined);
      return {
        code: error.code,
        message: error.rawMessage,
        reason: error.findDetails(ErrorReasonSchema)[0]?.reason,
        fields: error.findDetails(FieldViolationsSchema)[0]?.violations.map((violation) => violation.field),
      };
    };
    expect(reasonOf(stock)).toEqual({
      code: Code.FailedPrecondition,
      message: "not enough stock",
      reason: "OUT_OF_STOCK",
      fields: undefined,
    });
    expect(reasonOf(invalid)).toMatchObject({ code: Code.InvalidArgument, fields: ["items[0].quantity"] });
    expect(created?.status === "fulfilled" && created.value.order?.userId).toBe("carol");
    // Not known to be created, as after a lost call: a failure, never an order made up.
    expect(missing?.status).toBe("rejected");
  });

  it("fails every order of a call that fails with that call's error", async () => {
    const fake = fakeOrders({ hold: true });
    fake.answerBatchWith(async () => {
      throw new ConnectError("orders is unreachable", Code.Unavailable);
    });
    const results = await placeWhileOneIsOnItsWay(fake, ["alice", "bob"]);
    expect(
      results.map((result) => result.status === "rejected" && ConnectError.from(result.reason).code),
    ).toEqual([Code.Unavailable, Code.Unavailable]);
  });

  it("sends each order on its own when orders does not know CreateOrders (a rolling upgrade)", async () => {
    const fake = fakeOrders({ hold: true });
    fake.answerBatchWith(async () => {
      throw new ConnectError(
        "ecommerce.orders.v1.OrderBatchService.CreateOrders is not implemented",
        Code.Unimplemented,
      );
    });
    const results = await placeWhileOneIsOnItsWay(fake, ["alice", "bob"]);
    expect(results.map((result) => result.status === "fulfilled" && result.value.order?.userId)).toEqual([
      "alone",
      "alone",
    ]);
    expect(fake.batches).toHaveLength(1);
    expect(fake.single.map((call) => new Headers(call.options?.headers).get("authorization"))).toEqual([
      "Bearer first",
      "Bearer alice",
      "Bearer bob",
    ]);
  });

  it("gives up on an order at its own deadline, whatever its batch is doing", async () => {
    const never = new Promise<never>(() => {});
    const place = orderPlacement({ createOrder: () => never } as never, {
      client: { createOrders: () => never } as never,
      credential: async () => "Bearer service-credential",
      timeoutMs: 30,
    });
    const error = await place(request("p"), caller("alice")).catch((thrown: unknown) => thrown);
    expect(ConnectError.from(error).code).toBe(Code.DeadlineExceeded);
  });

  it("sends a lone order that waited behind another in its own trace, not the other's", async () => {
    const contextManager = new AsyncLocalStorageContextManager();
    context.setGlobalContextManager(contextManager.enable());
    const tracer = new TracerProvider().getTracer("test");
    setActiveTracer(tracer);
    try {
      const held = deferred<void>();
      /** The span active where each order's CreateOrder was called, by product. */
      const calledIn = new Map<string, string | undefined>();
      const place = orderPlacement(
        {
          createOrder: async (message: CreateOrderRequest) => {
            calledIn.set(message.items[0]?.productId ?? "", trace.getSpanContext(context.active())?.spanId);
            if (message.items[0]?.productId === "first") await held.promise;
            return orderOf("alone");
          },
        } as never,
        { client: {} as never, credential: async () => "Bearer service-credential", timeoutMs: TIMEOUT_MS },
      );
      const inSpan = (name: string) => {
        const span = tracer.startSpan(name);
        return {
          span: span.spanContext().spanId,
          placed: context.with(trace.setSpan(context.active(), span), () =>
            place(request(name), caller(name)),
          ),
        };
      };
      const first = inSpan("first");
      await new Promise((resolve) => setImmediate(resolve));
      // Placed while the first is on its way: sent alone from the batcher's loop once it returns.
      const second = inSpan("second");
      held.resolve();
      await Promise.all([first.placed, second.placed]);
      expect(calledIn.get("first")).toBe(first.span);
      expect(calledIn.get("second")).toBe(second.span);
    } finally {
      setActiveTracer(undefined);
      context.disable();
    }
  });
});
