/**
 * Which way an in-process call goes: streaming methods through Connect's own in-memory router
 * (in-process-transport.ts explains why), with their deadlines and cancellation, a service nobody
 * registered to `unimplemented`, all as createRouterTransport does.
 */
import { create, createFileRegistry } from "@bufbuild/protobuf";
import type { GenService } from "@bufbuild/protobuf/codegenv2";
import {
  FileDescriptorProtoSchema,
  file_google_protobuf_wrappers,
  type StringValueSchema,
} from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createClient,
  createRouterTransport,
} from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  type MakeTransport,
  makeInProcess,
  makeRouter,
  settle,
  userHeaders,
} from "../../../test/support/transport-conformance-fixtures.js";
import { InventoryService } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { OrderService } from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import { createInProcessTransport } from "./in-process-transport.js";

/** A streaming service built at run time, with no module behind it. */
const CountService = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "test/count.proto",
    package: "test.count.v1",
    syntax: "proto3",
    dependency: ["google/protobuf/wrappers.proto"],
    service: [
      {
        name: "CountService",
        method: [
          {
            name: "Count",
            inputType: ".google.protobuf.StringValue",
            outputType: ".google.protobuf.StringValue",
            serverStreaming: true,
          },
        ],
      },
    ],
  }),
  (file) => (file === "google/protobuf/wrappers.proto" ? file_google_protobuf_wrappers : undefined),
).getService("test.count.v1.CountService") as unknown as GenService<{
  count: {
    methodKind: "server_streaming";
    input: typeof StringValueSchema;
    output: typeof StringValueSchema;
  };
}>;
describe("in-process transport", () => {
  it("answers unimplemented for a service that is not registered, like the router transport", async () => {
    const routes = (router: ConnectRouter) => {
      router.service(CountService, {});
    };
    const codes = await Promise.all(
      [createInProcessTransport(routes), createRouterTransport(routes)].map(async (transport) => {
        const outcome = await settle(createClient(InventoryService, transport).getProduct({ id: "p-1" }));
        return "error" in outcome ? outcome.error.code : "none";
      }),
    );
    expect(codes).toEqual(["Unimplemented", "Unimplemented"]);
  });

  it("serves streaming methods through Connect's router path, with both kinds of interceptors", async () => {
    const run = async (make: MakeTransport) => {
      const log: string[] = [];
      const client = createClient(
        CountService,
        make(
          (router) => {
            router.service(CountService, {
              async *count(req, context) {
                context.responseHeader.set("x-stream", "open");
                for (let i = 1; i <= 3; i++) {
                  yield { value: `${req.value}-${i}` };
                }
                context.responseTrailer.set("x-stream-trailer", "closed");
              },
            });
          },
          {
            interceptors: [
              (next) => (req) => {
                log.push(`client stream=${req.stream}`);
                return next(req);
              },
            ],
            serverInterceptors: [
              (next) => (req) => {
                log.push(`server ${req.method.name}`);
                return next(req);
              },
            ],
          },
        ),
      );
      const values: string[] = [];
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      const stream = client.count(
        { value: "n" },
        {
          onHeader: (h) => {
            header = h;
          },
          onTrailer: (t) => {
            trailer = t;
          },
        },
      );
      for await (const message of stream) {
        values.push(message.value);
      }
      return { values, log, header: userHeaders(header), trailer: userHeaders(trailer) };
    };
    const expected = {
      values: ["n-1", "n-2", "n-3"],
      log: ["client stream=true", "server Count"],
      header: [["x-stream", "open"]],
      trailer: [["x-stream-trailer", "closed"]],
    };
    expect({ inProcess: await run(makeInProcess), router: await run(makeRouter) }).toEqual({
      inProcess: expected,
      router: expected,
    });
  });
});

describe("in-process server streams (WatchOrders), as the router transport ends them", () => {
  /**
   * A watch that sends its first message and then waits for its signal, the way the orders module's
   * does; what the client read, how its stream ended, and what the handler's signal said.
   */
  const watch = async (make: MakeTransport, end: { timeoutMs?: number; abortAfterMs?: number }) => {
    let handlerEnded: (reason: unknown) => void = () => {};
    const handlerSaw = new Promise<unknown>((resolve) => {
      handlerEnded = resolve;
    });
    const client = createClient(
      OrderService,
      make((router) => {
        router.service(OrderService, {
          async *watchOrders(_request, context) {
            yield {};
            await new Promise((resolve) => context.signal.addEventListener("abort", resolve, { once: true }));
            handlerEnded(context.signal.reason);
          },
        });
      }),
    );
    const caller = new AbortController();
    if (end.abortAfterMs !== undefined) setTimeout(() => caller.abort(), end.abortAfterMs);
    const started = Date.now();
    let messages = 0;
    let code: string | undefined;
    try {
      for await (const _ of client.watchOrders({}, { timeoutMs: end.timeoutMs, signal: caller.signal })) {
        messages++;
      }
    } catch (error) {
      code = Code[ConnectError.from(error).code];
    }
    const reason = ConnectError.from(await handlerSaw);
    return {
      messages,
      code,
      handlerSaw: Code[reason.code],
      endedInTime: Date.now() - started < 1_000,
    };
  };

  it("ends a stream at its deadline, on both sides", async () => {
    const expected = {
      messages: 1,
      code: "DeadlineExceeded",
      handlerSaw: "DeadlineExceeded",
      endedInTime: true,
    };
    expect({
      inProcess: await watch(makeInProcess, { timeoutMs: 150 }),
      router: await watch(makeRouter, { timeoutMs: 150 }),
    }).toEqual({ inProcess: expected, router: expected });
  });

  it("ends a stream when its caller aborts, on both sides", async () => {
    const expected = { messages: 1, code: "Canceled", handlerSaw: "Canceled", endedInTime: true };
    expect({
      inProcess: await watch(makeInProcess, { abortAfterMs: 100, timeoutMs: 60_000 }),
      router: await watch(makeRouter, { abortAfterMs: 100, timeoutMs: 60_000 }),
    }).toEqual({ inProcess: expected, router: expected });
  });
});
