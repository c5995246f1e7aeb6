/**
 * Shared setup of the in-process transport's tests (in-process-*.test.ts): the two transports a
 * conformance case runs on, the fake InventoryService the cases call, and the summaries of their
 * outcomes that are compared. Why the cases run on both: in-process-transport.test.ts.
 */
import { create } from "@bufbuild/protobuf";
import { StringValueSchema, TimestampSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createClient,
  createContextKey,
  createRouterTransport,
  type HandlerContext,
  type Interceptor,
  type ServiceImpl,
  type Transport,
} from "@connectrpc/connect";
import { InventoryService } from "../../src/gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { type Product, ProductSchema } from "../../src/gen/ecommerce/inventory/v1/product_pb.js";
import { createInProcessTransport } from "../../src/platform/transport/in-process-transport.js";

export interface TransportOptions {
  interceptors?: Interceptor[];
  serverInterceptors?: Interceptor[];
}
export type MakeTransport = (
  routes: (router: ConnectRouter) => void,
  options?: TransportOptions,
) => Transport;

export const makeInProcess: MakeTransport = (routes, options = {}) =>
  createInProcessTransport(routes, options);
export const makeRouter: MakeTransport = (routes, options = {}) =>
  createRouterTransport(routes, {
    transport: { interceptors: options.interceptors ?? [] },
    router: { interceptors: options.serverInterceptors ?? [] },
  });

export const tenantKey = createContextKey("default-tenant", { description: "tenant" });

/** What a fake handler saw, for the cases to report. */
export interface Seen {
  context?: HandlerContext;
  signalReason?: unknown;
  remainingMs?: number;
  calls: number;
  request?: unknown;
}

export const espresso = (): Product =>
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
export function fakeInventory(seen: Seen): Partial<ServiceImpl<typeof InventoryService>> {
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
export function summarizeError(e: unknown) {
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

export function userHeaders(headers: Headers | undefined): [string, string][] {
  return [...(headers ?? new Headers())].filter(([key]) => key.startsWith("x-"));
}

export async function settle<T>(
  promise: Promise<T>,
): Promise<{ value: T } | { error: ReturnType<typeof summarizeError> }> {
  try {
    return { value: await promise };
  } catch (e) {
    return { error: summarizeError(e) };
  }
}

export function setup(
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

export interface SharedCase {
  name: string;
  run: (make: MakeTransport) => Promise<unknown>;
  expected: unknown;
}
