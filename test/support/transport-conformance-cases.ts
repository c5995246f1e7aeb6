/**
 * The conformance cases every transport of the platform runs against createRouterTransport, the
 * reference (in-process-transport.test.ts says why): what a call answers (callCases), what ends it
 * early (cancellationCases), and the interceptors around it (interceptorCases). The in-process
 * transport runs them in in-process-*.test.ts, the network transport over a real socket in
 * network-transport.test.ts; transport-conformance-fixtures.ts has the setup they share.
 */
import { create, isMessage, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type Interceptor } from "@connectrpc/connect";
import {
  CreateProductRequestSchema,
  CreateProductResponseSchema,
  GetProductRequestSchema,
  GetProductResponseSchema,
} from "../../src/gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { ProductSchema } from "../../src/gen/ecommerce/inventory/v1/product_pb.js";
import {
  espresso,
  type Seen,
  type SharedCase,
  settle,
  setup,
  summarizeError,
  tenantKey,
  userHeaders,
} from "./transport-conformance-fixtures.js";

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

export const callCases: SharedCase[] = [
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

export const cancellationCases: SharedCase[] = [
  {
    name: "aborts the handler's signal on the deadline and fails with deadline_exceeded",
    async run(make) {
      const { seen, client } = setup(make);
      const outcome = await settle(client.getProduct({ id: "wait" }, { timeoutMs: 30 }));
      return {
        outcome,
        handlerSaw: summarizeError(seen.signalReason),
        remainingWithinDeadline:
          seen.remainingMs !== undefined && seen.remainingMs > 0 && seen.remainingMs <= 30,
      };
    },
    expected: {
      outcome: {
        error: {
          code: "DeadlineExceeded",
          rawMessage: "the operation timed out",
          metadata: [],
          detailTypes: [],
          strings: [],
          timestamps: [],
          hasCause: false,
        },
      },
      handlerSaw: {
        code: "DeadlineExceeded",
        rawMessage: "the operation timed out",
        metadata: [],
        detailTypes: [],
        strings: [],
        timestamps: [],
        hasCause: false,
      },
      remainingWithinDeadline: true,
    },
  },
  {
    name: "stops waiting at the deadline even if the handler ignores its signal",
    async run(make) {
      const { client } = setup(make);
      const started = Date.now();
      const outcome = await settle(client.getProduct({ id: "ignore" }, { timeoutMs: 30 }));
      return { code: "error" in outcome ? outcome.error.code : "none", early: Date.now() - started < 250 };
    },
    expected: { code: "DeadlineExceeded", early: true },
  },
  {
    name: "cancels through the caller's signal",
    async run(make) {
      const { seen, client } = setup(make);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 10);
      const outcome = await settle(client.getProduct({ id: "wait" }, { signal: controller.signal }));
      return { outcome, handlerSaw: (seen.signalReason as Error | undefined)?.name };
    },
    expected: {
      outcome: {
        error: {
          code: "Canceled",
          rawMessage: "This operation was aborted",
          metadata: [],
          detailTypes: [],
          strings: [],
          timestamps: [],
          hasCause: false,
        },
      },
      handlerSaw: "AbortError",
    },
  },
  {
    name: "cancels with the caller's own abort reason",
    async run(make) {
      const { client } = setup(make);
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error("user left")), 10);
      return settle(client.getProduct({ id: "wait" }, { signal: controller.signal }));
    },
    expected: {
      error: {
        code: "Canceled",
        rawMessage: "user left",
        metadata: [],
        detailTypes: [],
        strings: [],
        timestamps: [],
        hasCause: true,
      },
    },
  },
  {
    name: "fails a call whose signal is already aborted with canceled",
    run: (make) => settle(setup(make).client.getProduct({ id: "p-1" }, { signal: AbortSignal.abort() })),
    expected: {
      error: {
        code: "Canceled",
        rawMessage: "This operation was aborted",
        metadata: [],
        detailTypes: [],
        strings: [],
        timestamps: [],
        hasCause: false,
      },
    },
  },
  {
    name: "applies a service's maxTimeoutMs",
    run: (make) =>
      settle(setup(make, {}, { maxTimeoutMs: 100 }).client.getProduct({ id: "p-1" }, { timeoutMs: 1000 })),
    expected: {
      error: {
        code: "InvalidArgument",
        rawMessage: "timeout 1000ms must be <= 100",
        metadata: [],
        detailTypes: [],
        strings: [],
        timestamps: [],
        hasCause: false,
      },
    },
  },
  {
    name: "aborts the handler's signal when the service's shutdownSignal fires",
    async run(make) {
      const shutdown = new AbortController();
      const { seen, client } = setup(make, {}, { shutdownSignal: shutdown.signal });
      const call = settle(client.getProduct({ id: "wait" }));
      // Once the handler runs (over a network, the request takes a moment to arrive).
      while (seen.calls === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      shutdown.abort(new ConnectError("shutting down", Code.Unavailable));
      return call;
    },
    expected: {
      error: {
        code: "Unavailable",
        rawMessage: "shutting down",
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
];

export const interceptorCases: SharedCase[] = [
  {
    name: "runs client interceptors in order around the call, with a live signal",
    async run(make) {
      const log: string[] = [];
      const recorder =
        (name: string): Interceptor =>
        (next) =>
        async (req) => {
          log.push(`${name}>`);
          if (name === "inner") {
            req.header.set("x-echo", "from-interceptor");
            log.push(`signal live: ${req.signal instanceof AbortSignal && !req.signal.aborted}`);
          }
          const res = await next(req);
          log.push(`<${name} x-echo=${res.header.get("x-echo")} stream=${res.stream}`);
          return res;
        };
      let request: { signal: AbortSignal } | undefined;
      const keep: Interceptor = (next) => (req) => {
        request = req;
        return next(req);
      };
      const { client } = setup(make, { interceptors: [recorder("outer"), recorder("inner"), keep] });
      await client.createProduct({ name: "Kettle" });
      log.push(`signal aborted after: ${request?.signal.aborted}`);
      return log;
    },
    expected: [
      "outer>",
      "inner>",
      "signal live: true",
      "<inner x-echo=from-interceptor stream=false",
      "<outer x-echo=from-interceptor stream=false",
      "signal aborted after: true",
    ],
  },
  {
    name: "works with client interceptors that pass on a copy of the request",
    async run(make) {
      const copying: Interceptor = (next) => (req) => {
        const header = new Headers(req.header);
        header.set("x-echo", "copied");
        return next({ ...req, header });
      };
      const { seen, client } = setup(make, { interceptors: [copying] });
      let header: Headers | undefined;
      await client.createProduct(
        { name: "Kettle" },
        {
          onHeader: (h) => {
            header = h;
          },
        },
      );
      const deadline = await settle(client.getProduct({ id: "wait" }, { timeoutMs: 20 }));
      return {
        header: userHeaders(header),
        deadline: "error" in deadline ? deadline.error.code : "none",
        handlerSaw: summarizeError(seen.signalReason).code,
      };
    },
    expected: {
      header: [["x-echo", "copied"]],
      deadline: "DeadlineExceeded",
      handlerSaw: "DeadlineExceeded",
    },
  },
  {
    name: "honours a signal that a client interceptor substitutes",
    async run(make) {
      const own = new AbortController();
      const substitute: Interceptor = (next) => (req) => next({ ...req, signal: own.signal });
      const { seen, client } = setup(make, { interceptors: [substitute] });
      setTimeout(() => own.abort(), 10);
      const outcome = await settle(client.getProduct({ id: "wait" }));
      return { outcome, handlerSaw: (seen.signalReason as Error | undefined)?.name };
    },
    expected: {
      outcome: {
        error: {
          code: "Canceled",
          rawMessage: "This operation was aborted",
          metadata: [],
          detailTypes: [],
          strings: [],
          timestamps: [],
          hasCause: false,
        },
      },
      handlerSaw: "AbortError",
    },
  },
  {
    name: "runs server interceptors in order around the handler, seeing its original errors",
    async run(make) {
      const log: string[] = [];
      const recorder =
        (name: string): Interceptor =>
        (next) =>
        async (req) => {
          log.push(`${name}> ${req.method.name} x-echo=${req.header.get("x-echo")}`);
          try {
            const res = await next(req);
            if (name === "s-inner") {
              res.header.set("x-server-interceptor", "yes");
            }
            log.push(`<${name}`);
            return res;
          } catch (e) {
            log.push(`<${name} threw ${e instanceof ConnectError ? e.message : String(e)}`);
            throw e;
          }
        };
      const { client } = setup(make, { serverInterceptors: [recorder("s-outer"), recorder("s-inner")] });
      let header: Headers | undefined;
      await client.createProduct(
        { name: "Kettle" },
        {
          headers: { "x-echo": "hi" },
          onHeader: (h) => {
            header = h;
          },
        },
      );
      const failure = await settle(client.getProduct({ id: "explode" }));
      return { log, header: userHeaders(header), failure: "error" in failure ? failure.error.code : "none" };
    },
    expected: {
      log: [
        "s-outer> CreateProduct x-echo=hi",
        "s-inner> CreateProduct x-echo=hi",
        "<s-inner",
        "<s-outer",
        "s-outer> GetProduct x-echo=null",
        "s-inner> GetProduct x-echo=null",
        "<s-inner threw Error: database exploded",
        "<s-outer threw Error: database exploded",
      ],
      header: [
        ["x-echo", "hi"],
        ["x-server-interceptor", "yes"],
      ],
      failure: "Internal",
    },
  },
  {
    name: "fires the handler's signal as soon as the handler is done",
    async run(make) {
      // Read by a client interceptor: the handler is done, the call is not yet.
      let afterHandler: boolean | undefined;
      let handlerSaw: Seen | undefined;
      const afterNext: Interceptor = (next) => async (req) => {
        const res = await next(req);
        afterHandler = handlerSaw?.context?.signal.aborted;
        return res;
      };
      const { seen, client } = setup(make, { interceptors: [afterNext] });
      handlerSaw = seen;
      await client.getProduct({ id: "p-1" });
      return { afterHandler };
    },
    expected: { afterHandler: true },
  },
  {
    name: "answers with the headers a server interceptor puts in its response",
    async run(make) {
      const replace: Interceptor = (next) => async (req) => {
        const res = await next(req);
        // Adds only: Connect's router keeps headers a replacement drops (it clears the old
        // Headers while iterating them), a quirk not worth copying.
        const header = new Headers(res.header);
        header.set("x-replaced", "yes");
        return { ...res, header, trailer: new Headers({ "x-new-trailer": "1" }) };
      };
      const { client } = setup(make, { serverInterceptors: [replace] });
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      await client.createProduct(
        { name: "Kettle" },
        {
          headers: { "x-echo": "hi" },
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
    expected: {
      header: [
        ["x-echo", "hi"],
        ["x-replaced", "yes"],
      ],
      trailer: [["x-new-trailer", "1"]],
    },
  },
  {
    name: "lets a server interceptor answer with an error of its own",
    async run(make) {
      const deny: Interceptor = () => () => {
        throw new ConnectError("no token", Code.Unauthenticated, { "x-auth": "bearer" });
      };
      return settle(setup(make, { serverInterceptors: [deny] }).client.getProduct({ id: "p-1" }));
    },
    expected: {
      error: {
        code: "Unauthenticated",
        rawMessage: "no token",
        metadata: [["x-auth", "bearer"]],
        detailTypes: [],
        strings: [],
        timestamps: [],
        hasCause: false,
      },
    },
  },
];
