/**
 * Which way an in-process call goes: streaming methods through Connect's own in-memory router
 * (in-process-transport.ts explains why), a service nobody registered to `unimplemented`, both as
 * createRouterTransport does.
 */
import { create, createFileRegistry } from "@bufbuild/protobuf";
import type { GenService } from "@bufbuild/protobuf/codegenv2";
import {
  FileDescriptorProtoSchema,
  file_google_protobuf_wrappers,
  type StringValueSchema,
} from "@bufbuild/protobuf/wkt";
import { type ConnectRouter, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  type MakeTransport,
  makeInProcess,
  makeRouter,
  settle,
  userHeaders,
} from "../../../test/support/transport-conformance-fixtures.js";
import { InventoryService } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { createInProcessTransport } from "./in-process-transport.js";

/** A streaming service built at run time: the platform's protos have none yet. */
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
