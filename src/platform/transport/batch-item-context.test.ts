/**
 * An item of a batch call runs with a HandlerContext of its own (batch-item-context.ts): its
 * method, headers, values and deadline, never outlasting the batch call, aborted with it; and a
 * caller waiting on a batch gets deadline_exceeded at its own deadline (answer-by-deadline.ts).
 */
import { Code, ConnectError, createHandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InventoryService } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { OrderService } from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import { REQUEST_CONTEXT, requestContextValues } from "../observability/request-context.js";
import { answerByDeadline } from "./answer-by-deadline.js";
import { batchItemCall } from "./batch-item-context.js";

function batchContext(timeoutMs?: number, requestSignal?: AbortSignal) {
  return createHandlerContext({
    service: InventoryService,
    method: InventoryService.method.getProduct,
    protocolName: "connect",
    requestMethod: "POST",
    url: "http://127.0.0.1:1/ecommerce.inventory.v1.InventoryService/GetProduct",
    timeoutMs,
    requestSignal: requestSignal ?? new AbortController().signal,
  });
}

const item = (timeoutMs: number | undefined) => ({
  method: OrderService.method.createOrder,
  requestHeader: new Headers({ authorization: "Bearer item-token" }),
  values: requestContextValues({ requestId: "item-request", traceId: undefined }),
  timeoutMs,
});

const aborted = (signal: AbortSignal) =>
  signal.aborted
    ? Promise.resolve(signal.reason)
    : new Promise<unknown>((resolve) => signal.addEventListener("abort", () => resolve(signal.reason)));

describe("batchItemCall", () => {
  it("gives the item its own method, headers and values", () => {
    const call = batchItemCall(batchContext(5_000), item(1_000));
    const { context } = call;
    expect(context.method).toBe(OrderService.method.createOrder);
    expect(context.service).toBe(OrderService);
    expect(context.requestHeader.get("authorization")).toBe("Bearer item-token");
    expect(context.values.get(REQUEST_CONTEXT)?.requestId).toBe("item-request");
    expect(context.protocolName).toBe("connect");
    call.end();
  });

  it("takes the item's deadline when it is the shorter, and ends the item there", async () => {
    const call = batchItemCall(batchContext(5_000), item(30));
    const left = call.context.timeoutMs() as number;
    expect(left).toBeGreaterThan(20);
    expect(left).toBeLessThanOrEqual(30);
    const reason = await aborted(call.context.signal);
    expect(ConnectError.from(reason).code).toBe(Code.DeadlineExceeded);
  });

  it("never outlasts the batch call, and takes its deadline when the item names none", () => {
    for (const own of [60_000, 0, undefined]) {
      const call = batchItemCall(batchContext(2_000), item(own));
      const left = call.context.timeoutMs() as number;
      expect(left).toBeGreaterThan(1_900);
      expect(left).toBeLessThanOrEqual(2_000);
      call.end();
    }
    const unbounded = batchItemCall(batchContext(undefined), item(0));
    expect(unbounded.context.timeoutMs()).toBeUndefined();
    unbounded.end();
  });

  it("aborts the item when the batch call is aborted", async () => {
    const caller = new AbortController();
    const call = batchItemCall(batchContext(5_000, caller.signal), item(1_000));
    expect(call.context.signal.aborted).toBe(false);
    caller.abort(new ConnectError("the caller went away", Code.Canceled));
    expect(ConnectError.from(await aborted(call.context.signal)).code).toBe(Code.Canceled);
  });

  it("once ended, the item's deadline no longer fires", async () => {
    const call = batchItemCall(batchContext(5_000), item(20));
    call.end();
    await new Promise((resolve) => setTimeout(resolve, 40));
    // Ended as a finished call's signal is: aborted without a deadline's reason.
    expect(call.context.signal.aborted).toBe(true);
    expect(call.context.signal.reason).not.toBeInstanceOf(ConnectError);
  });
});

describe("answerByDeadline", () => {
  it("answers what the work answers in time", async () => {
    await expect(answerByDeadline(Promise.resolve("done"), 1_000)).resolves.toBe("done");
    await expect(answerByDeadline(Promise.reject(new Error("refused")), 1_000)).rejects.toThrow("refused");
  });

  it("fails with deadline_exceeded when the work takes longer", async () => {
    const never = new Promise<string>(() => {});
    const error = await answerByDeadline(never, 20).catch((thrown: unknown) => thrown);
    expect(ConnectError.from(error).code).toBe(Code.DeadlineExceeded);
  });

  it("ignores what the work answers after the deadline", async () => {
    let finish: (value: string) => void = () => {};
    const late = new Promise<string>((resolve) => {
      finish = resolve;
    });
    const waited = answerByDeadline(late, 10);
    await expect(waited).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    finish("too late");
  });
});
