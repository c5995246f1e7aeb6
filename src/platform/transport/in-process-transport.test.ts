/**
 * The in-process transport must be indistinguishable from Connect's createRouterTransport, which
 * goes through the full protocol and is the reference: every shared case runs against both and
 * must give the same outcome, which must also be the expected one (so that a case still fails when
 * both transports go wrong the same way).
 *
 * Outcomes compare user-visible headers only (names starting with "x-"): the router transport also
 * exposes protocol headers (content-type, content-length, connect-protocol-version, …) that the
 * in-process transport has no wire for.
 */
import { create, createFileRegistry, isMessage, toJson } from "@bufbuild/protobuf";
import type { GenService } from "@bufbuild/protobuf/codegenv2";
import {
  FileDescriptorProtoSchema,
  file_google_protobuf_wrappers,
  StringValueSchema,
  TimestampSchema,
  timestampFromMs,
} from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createClient,
  createContextKey,
  createContextValues,
  createRouterTransport,
  type HandlerContext,
  type Interceptor,
  type ServiceImpl,
  type Transport,
} from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  CreateProductRequestSchema,
  CreateProductResponseSchema,
  GetProductRequestSchema,
  GetProductResponseSchema,
  InventoryService,
} from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { type Product, ProductSchema } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import { createInProcessTransport } from "./in-process-transport.js";

interface TransportOptions {
  interceptors?: Interceptor[];
  serverInterceptors?: Interceptor[];
}
type MakeTransport = (routes: (router: ConnectRouter) => void, options?: TransportOptions) => Transport;

const makeInProcess: MakeTransport = (routes, options = {}) => createInProcessTransport(routes, options);
const makeRouter: MakeTransport = (routes, options = {}) =>
  createRouterTransport(routes, {
    transport: { interceptors: options.interceptors ?? [] },
    router: { interceptors: options.serverInterceptors ?? [] },
  });

const tenantKey = createContextKey("default-tenant", { description: "tenant" });

/** What a fake handler saw, for the cases to report. */
interface Seen {
  context?: HandlerContext;
  signalReason?: unknown;
  remainingMs?: number;
  calls: number;
  request?: unknown;
}

const espresso = (): Product =>
  create(ProductSchema, {
    id: "p-1",
    name: "Espresso machine",
    category: "kitchen",
    priceCents: 24_900n,
    stock: 7,
  });

/**
 * A fake InventoryService. GetProduct reads a Map, and a few ids misbehave on purpose: "explode"
 * throws a plain Error, "wait" waits for its signal, "ignore" ignores its signal for 300 ms.
 * CreateProduct echoes the request header x-echo and the context value into its response and
 * answers with a plain init object. DeleteProduct is left unimplemented.
 */
function fakeInventory(seen: Seen): Partial<ServiceImpl<typeof InventoryService>> {
  const products = new Map([["p-1", espresso()]]);
  return {
    async getProduct(req, context) {
      seen.calls++;
      seen.context = context;
      seen.request = req;
      seen.remainingMs = context.timeoutMs();
      context.responseHeader.set("x-served-by", "fake");
      context.responseTrailer.set("x-trailer", "t");
      if (req.id === "explode") {
        throw new Error("database exploded");
      }
      if (req.id === "wait") {
        await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
        seen.signalReason = context.signal.reason;
        throw context.signal.reason;
      }
      if (req.id === "ignore") {
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      const product = products.get(req.id);
      if (product === undefined) {
        throw new ConnectError(
          `product "${req.id}" was not found`,
          Code.NotFound,
          { "x-missing-id": req.id },
          [
            { desc: StringValueSchema, value: { value: req.id } },
            { desc: TimestampSchema, value: timestampFromMs(1_700_000_000_000) },
          ],
        );
      }
      return { product };
    },
    createProduct(req, context) {
      seen.calls++;
      seen.request = req;
      context.responseHeader.set("x-echo", context.requestHeader.get("x-echo") ?? "(none)");
      context.responseTrailer.set("x-echo-trailer", "bye");
      return {
        product: {
          id: "p-new",
          name: `${req.name}|${context.values.get(tenantKey)}`,
          priceCents: req.priceCents,
          stock: req.stock,
        },
      };
    },
  };
}

/** The comparable parts of whatever a call threw. */
function summarizeError(e: unknown) {
  if (!(e instanceof ConnectError)) {
    return { notAConnectError: String(e) };
  }
  return {
    code: Code[e.code],
    rawMessage: e.rawMessage,
    metadata: userHeaders(e.metadata),
    // As read off the wire: type names and bytes, not the server's message objects.
    detailTypes: e.details.map((d) => ("type" in d ? d.type : "outgoing")),
    strings: e.findDetails(StringValueSchema).map((d) => d.value),
    timestamps: e.findDetails(TimestampSchema).map((d) => d.seconds),
    hasCause: e.cause !== undefined,
  };
}

function userHeaders(headers: Headers | undefined): [string, string][] {
  return [...(headers ?? new Headers())].filter(([key]) => key.startsWith("x-"));
}

async function settle<T>(
  promise: Promise<T>,
): Promise<{ value: T } | { error: ReturnType<typeof summarizeError> }> {
  try {
    return { value: await promise };
  } catch (e) {
    return { error: summarizeError(e) };
  }
}

function setup(
  make: MakeTransport,
  options?: TransportOptions,
  serviceOptions?: { maxTimeoutMs?: number; shutdownSignal?: AbortSignal },
) {
  const seen: Seen = { calls: 0 };
  const transport = make((router) => {
    router.service(InventoryService, fakeInventory(seen), serviceOptions);
  }, options);
  return { seen, client: createClient(InventoryService, transport) };
}

interface SharedCase {
  name: string;
  run: (make: MakeTransport) => Promise<unknown>;
  expected: unknown;
}

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
      const { client } = setup(make, {}, { shutdownSignal: shutdown.signal });
      setTimeout(() => shutdown.abort(new ConnectError("shutting down", Code.Unavailable)), 10);
      return settle(client.getProduct({ id: "wait" }));
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

describe("in-process transport, against createRouterTransport", () => {
  it.each(sharedCases)("$name", async ({ run, expected }) => {
    const inProcess = await run(makeInProcess);
    const router = await run(makeRouter);
    expect({ inProcess, router }).toEqual({ inProcess: expected, router: expected });
  });
});

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

  it("never runs the handler of a call that is already canceled", async () => {
    const { seen, client } = setup(makeInProcess);
    await expect(client.getProduct({ id: "p-1" }, { signal: AbortSignal.abort() })).rejects.toThrow(
      "[canceled]",
    );
    expect(seen.calls).toBe(0);
  });

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
