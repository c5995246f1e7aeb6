/**
 * Forwarding a server stream (forwarding-service.ts): the remote's messages as they come, the
 * caller's Authorization header and deadline passed on, the remote's refusal passed back with its
 * code, the caller's going away reaching the remote handler, and a stop of the forwarding process
 * ending the stream cleanly. The remote is served in process here; over the network the same
 * client calls are made (test/order-watch.test.ts runs them against the split processes).
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createClient,
  createRouterTransport,
} from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { OrderCreatedSchema } from "../../gen/ecommerce/orders/v1/events_pb.js";
import { OrderService } from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import { forwardService } from "./forwarding-service.js";
import { createInProcessTransport } from "./in-process-transport.js";

interface RemoteSaw {
  authorization: string | null;
  timeoutMs: number | undefined;
  /** Resolves with the handler signal's reason once it aborts. */
  ended: Promise<unknown>;
}

/** A remote OrderService whose WatchOrders refuses callers without a token and sends two events. */
function remote(): { routes: (router: ConnectRouter) => void; saw: RemoteSaw[] } {
  const saw: RemoteSaw[] = [];
  return {
    saw,
    routes: (router) => {
      router.service(OrderService, {
        async *watchOrders(_request, context) {
          saw.push({
            authorization: context.requestHeader.get("authorization"),
            timeoutMs: context.timeoutMs(),
            ended: new Promise((resolve) =>
              context.signal.addEventListener("abort", () => resolve(context.signal.reason), { once: true }),
            ),
          });
          if (context.requestHeader.get("authorization") === null) {
            throw new ConnectError("a bearer token is required", Code.Unauthenticated);
          }
          yield {};
          for (const orderId of ["o-1", "o-2"]) {
            const value = create(OrderCreatedSchema, { orderId, createdAt: timestampFromDate(new Date()) });
            yield { event: { case: "created", value } };
          }
          await new Promise((resolve) => context.signal.addEventListener("abort", resolve, { once: true }));
        },
      });
    },
  };
}

/** A client of a process that forwards OrderService to `remote` (served in process). */
function forwarder(routes: (router: ConnectRouter) => void, stopping?: AbortSignal) {
  const toRemote = createClient(OrderService, createInProcessTransport(routes));
  return createClient(
    OrderService,
    createRouterTransport((router) => forwardService(router, OrderService, toRemote, { stopping })),
  );
}

/** Reads `count` messages, then leaves the stream open; what each was. */
async function read(stream: AsyncIterable<{ event: { case: string | undefined } }>, count: number) {
  const cases: (string | undefined)[] = [];
  const iterator = stream[Symbol.asyncIterator]();
  while (cases.length < count) {
    const next = await iterator.next();
    if (next.done) break;
    cases.push(next.value.event.case);
  }
  return { cases, iterator };
}

describe("forwardService with a server stream", () => {
  it("passes the messages on as they come, with the caller's token and deadline", async () => {
    const { routes, saw } = remote();
    const caller = new AbortController();
    const stream = forwarder(routes).watchOrders(
      {},
      { headers: { authorization: "Bearer t" }, timeoutMs: 60_000, signal: caller.signal },
    );
    const { cases } = await read(stream, 3);
    expect(cases).toEqual([undefined, "created", "created"]);
    expect(saw[0]?.authorization).toBe("Bearer t");
    expect(saw[0]?.timeoutMs).toBeGreaterThan(50_000);
    expect(saw[0]?.timeoutMs).toBeLessThanOrEqual(60_000);

    // The caller going away reaches the remote handler.
    caller.abort();
    expect(ConnectError.from(await saw[0]?.ended).code).toBe(Code.Canceled);
  });

  it("passes the remote's refusal back with its code and message", async () => {
    const { routes } = remote();
    const failure = await read(forwarder(routes).watchOrders({}), 1).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ConnectError);
    expect((failure as ConnectError).code).toBe(Code.Unauthenticated);
    expect((failure as ConnectError).rawMessage).toBe("a bearer token is required");
  });

  it("ends the stream cleanly, and the remote call with it, when the forwarding process stops", async () => {
    const { routes, saw } = remote();
    const stopping = new AbortController();
    const stream = forwarder(routes, stopping.signal).watchOrders(
      {},
      { headers: { authorization: "Bearer t" }, timeoutMs: 60_000 },
    );
    const { iterator } = await read(stream, 3);
    const started = Date.now();
    stopping.abort();
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(ConnectError.from(await saw[0]?.ended).code).toBe(Code.Canceled);
  });
});
