/**
 * The in-process transport must be indistinguishable from Connect's createRouterTransport, which
 * goes through the full protocol and is the reference: every shared case runs against both and
 * must give the same outcome, which must also be the expected one (so that a case still fails when
 * both transports go wrong the same way).
 *
 * Outcomes compare user-visible headers only (names starting with "x-"): the router transport also
 * exposes protocol headers (content-type, content-length, connect-protocol-version, …) that the
 * in-process transport has no wire for.
 *
 * This file has the shared cases of what a call answers (responses, errors, headers, context
 * values) and the in-process transport's own promises about messages; in-process-cancellation,
 * in-process-interceptors and in-process-routing.test.ts have the rest, and conformance-fixtures.ts
 * the setup they share.
 */
import { create, isMessage, toJson } from "@bufbuild/protobuf";
import { createClient, createContextValues, type Interceptor } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  espresso,
  makeInProcess,
  makeRouter,
  type SharedCase,
  settle,
  setup,
  tenantKey,
  userHeaders,
} from "../../../test/support/transport-conformance-fixtures.js";
import {
  CreateProductRequestSchema,
  CreateProductResponseSchema,
  GetProductRequestSchema,
  GetProductResponseSchema,
  InventoryService,
} from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { type Product, ProductSchema } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import { createInProcessTransport } from "./in-process-transport.js";

const notFoundError = {
  code: "NotFound",
  rawMessage: 'product "nope" was not found',
  metadata: [
    ["x-missing-id", "nope"],
    ["x-served-by", "fake"],
    ["x-trailer", "t"],
  ],
  detailTypes: ["google.protobuf.StringValue", "google.protobuf.Timestamp"],
  strings: ["nope"],
  timestamps: [1_700_000_000n],
  hasCause: false,
};

const sharedCases: SharedCase[] = [
  {
    name: "returns the handler's response, and fires the handler's signal once done",
    async run(make) {
      const { seen, client } = setup(make);
      const response = await client.getProduct({ id: "p-1" });
      return {
        response: toJson(GetProductResponseSchema, response),
        handlerGotMessage: isMessage(seen.request, GetProductRequestSchema),
        remainingMs: seen.remainingMs,
        protocolName: seen.context?.protocolName,
        signalAbortedAfter: seen.context?.signal.aborted,
      };
    },
    expected: {
      response: toJson(GetProductResponseSchema, create(GetProductResponseSchema, { product: espresso() })),
      handlerGotMessage: true,
      remainingMs: undefined,
      protocolName: "connect",
      signalAbortedAfter: true,
    },
  },
  {
    name: "creates messages from init shapes on both sides",
    async run(make) {
      const { seen, client } = setup(make);
      const response = await client.createProduct({ name: "Grinder", priceCents: 9_900n, stock: 3 });
      return {
        handlerGotMessage: isMessage(seen.request, CreateProductRequestSchema),
        clientGotMessage: isMessage(response, CreateProductResponseSchema),
        productIsMessage: isMessage(response.product, ProductSchema),
        response: toJson(CreateProductResponseSchema, response),
      };
    },
    expected: {
      handlerGotMessage: true,
      clientGotMessage: true,
      productIsMessage: true,
      response: { product: { id: "p-new", name: "Grinder|default-tenant", priceCents: "9900", stock: 3 } },
    },
  },
  {
    name: "passes a ConnectError on with its code, message, metadata, trailers and details",
    run: (make) => settle(setup(make).client.getProduct({ id: "nope" })),
    expected: { error: notFoundError },
  },
  {
    name: "turns a plain Error into internal, without its message or cause",
    run: (make) => settle(setup(make).client.getProduct({ id: "explode" })),
    expected: {
      error: {
        code: "Internal",
        rawMessage: "internal error",
        metadata: [
          ["x-served-by", "fake"],
          ["x-trailer", "t"],
        ],
        detailTypes: [],
        strings: [],
        timestamps: [],
        hasCause: false,
      },
    },
  },
  {
    name: "answers unimplemented for a method the service leaves out",
    run: (make) => settle(setup(make).client.deleteProduct({ id: "p-1" })),
    expected: {
      error: {
        code: "Unimplemented",
        rawMessage: "ecommerce.inventory.v1.InventoryService.DeleteProduct is not implemented",
        metadata: [],
        detailTypes: [],
        strings: [],
        timestamps: [],
        hasCause: false,
      },
    },
  },
  {
    name: "carries request headers to the handler and response headers and trailers back",
    async run(make) {
      const { client } = setup(make);
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      await client.createProduct(
        { name: "Kettle" },
        {
          headers: { "x-echo": "hello" },
          onHeader: (h) => {
            header = h;
          },
          onTrailer: (t) => {
            trailer = t;
          },
        },
      );
      return { header: userHeaders(header), trailer: userHeaders(trailer) };
    },
    expected: { header: [["x-echo", "hello"]], trailer: [["x-echo-trailer", "bye"]] },
  },
  {
    name: "shows the call's context values to client interceptors but not to the handler",
    async run(make) {
      let interceptorSaw: string | undefined;
      const interceptor: Interceptor = (next) => (req) => {
        interceptorSaw = req.contextValues.get(tenantKey);
        return next(req);
      };
      const { client } = setup(make, { interceptors: [interceptor] });
      const response = await client.createProduct(
        { name: "Kettle" },
        { contextValues: createContextValues().set(tenantKey, "acme") },
      );
      return { interceptorSaw, handlerSaw: response.product?.name.split("|")[1] };
    },
    // Over the network the server builds its own context values; Connect's router transport does
    // the same, and so must the in-process transport.
    expected: { interceptorSaw: "acme", handlerSaw: "default-tenant" },
  },
];

describe("in-process transport, against createRouterTransport", () => {
  it.each(sharedCases)("$name", async ({ run, expected }) => {
    const inProcess = await run(makeInProcess);
    const router = await run(makeRouter);
    expect({ inProcess, router }).toEqual({ inProcess: expected, router: expected });
  });
});

describe("in-process transport", () => {
  it("hands the request object to the handler and its response object back, uncopied", async () => {
    const response = create(GetProductResponseSchema, { product: espresso() });
    let received: unknown;
    const transport = createInProcessTransport((router) => {
      router.service(InventoryService, {
        getProduct(req) {
          received = req;
          return response;
        },
      });
    });
    const request = create(GetProductRequestSchema, { id: "p-1" });
    const result = await createClient(InventoryService, transport).getProduct(request);
    expect(received).toBe(request);
    expect(result).toBe(response);
  });

  it("with freezeMessages, makes writes to a shared request or response throw", async () => {
    const stored = create(GetProductResponseSchema, { product: espresso() });
    const transport = createInProcessTransport(
      (router) => {
        router.service(InventoryService, {
          getProduct: () => stored,
          createProduct(req) {
            req.name = "renamed by the handler";
            return {};
          },
        });
      },
      { freezeMessages: true },
    );
    const client = createClient(InventoryService, transport);
    const request = create(CreateProductRequestSchema, { name: "Kettle" });
    const failure = await settle(client.createProduct(request));
    expect(failure).toMatchObject({ error: { code: "Internal" } });
    expect(request.name).toBe("Kettle");

    const result = await client.getProduct({ id: "p-1" });
    const product = result.product as Product;
    expect(() => {
      product.stock = 0;
    }).toThrow(TypeError);
    expect(stored.product?.stock).toBe(7);
  });
});
