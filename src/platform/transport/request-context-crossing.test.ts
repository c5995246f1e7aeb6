/**
 * The one client context value that crosses the in-process boundary: the request a call serves
 * (REQUEST_CONTEXT). Every other value the client sets stays on the client side, as it does over
 * the network. A failure of the handler is logged, and answered, with that request's id.
 */
import {
  Code,
  ConnectError,
  type ContextValues,
  createClient,
  createContextKey,
  createContextValues,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { capturedLog } from "../../../test/support/captured-log.js";
import { ModuleTransports } from "../../composition/module-transports.js";
import { InventoryService } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { reportHandlerFailure } from "../errors/public-error.js";
import { createMetricsRegistry } from "../metrics.js";
import { REQUEST_CONTEXT, type RequestContext } from "../observability/request-context.js";
import { RpcMetrics } from "../observability/rpc-metrics.js";
import { calledInProcess } from "./in-process-call.js";
import { createInProcessTransport, type InProcessTransportOptions } from "./in-process-transport.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GET_PRODUCT = "/ecommerce.inventory.v1.InventoryService/GetProduct";

const tenantKey = createContextKey<string>("no-tenant", { description: "tenant (client side only)" });

/** A transport to an InventoryService whose GetProduct records the handler's context values. */
function recordingTransport(options: InProcessTransportOptions = {}) {
  const seen: { values?: ContextValues; calls: number } = { calls: 0 };
  const transport = createInProcessTransport((router) => {
    router.service(InventoryService, {
      getProduct(req, context) {
        seen.calls++;
        seen.values = context.values;
        return { product: { id: req.id, name: "Kettle" } };
      },
    });
  }, options);
  return { seen, client: createClient(InventoryService, transport) };
}

const passThrough: Interceptor = (next) => (req) => next(req);

/** The four ways the transport runs a call: directly, with a deadline, guarded, server-intercepted. */
const PATHS: { name: string; options: InProcessTransportOptions; timeoutMs?: number }[] = [
  { name: "direct", options: {} },
  { name: "with a deadline", options: {}, timeoutMs: 5_000 },
  { name: "with a client interceptor", options: { interceptors: [passThrough] } },
  { name: "with a server interceptor", options: { serverInterceptors: [passThrough] } },
];

describe("the request context across the in-process transport", () => {
  it.each(PATHS)(
    "$name: the handler gets the client's REQUEST_CONTEXT object, and no other value",
    async ({ options, timeoutMs }) => {
      const { seen, client } = recordingTransport(options);
      const request: RequestContext = {
        requestId: "crossing-1",
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      };
      const response = await client.getProduct(
        { id: "p-1" },
        {
          timeoutMs,
          contextValues: createContextValues().set(REQUEST_CONTEXT, request).set(tenantKey, "acme"),
        },
      );
      expect(response.product?.id).toBe("p-1");
      expect(seen.calls).toBe(1);
      expect(seen.values?.get(REQUEST_CONTEXT)).toBe(request);
      expect(seen.values?.get(tenantKey)).toBe("no-tenant");
      // Set on the handler's side: the one thing it may learn about where its caller runs.
      expect(seen.values && calledInProcess({ values: seen.values })).toBe(true);
    },
  );

  it("without a REQUEST_CONTEXT the handler's values carry none, and nothing else either", async () => {
    const { seen, client } = recordingTransport();
    await client.getProduct({ id: "p-1" }, { contextValues: createContextValues().set(tenantKey, "acme") });
    expect(seen.calls).toBe(1);
    expect(seen.values?.get(REQUEST_CONTEXT)).toBeUndefined();
    expect(seen.values?.get(tenantKey)).toBe("no-tenant");
  });
});

describe("a handler's failure, reported under the request's id (ModuleTransports' wiring)", () => {
  /** An InventoryService behind ModuleTransports' in-process transport, logging to a captured log. */
  function failingModule() {
    const log = capturedLog();
    const transports = new ModuleTransports(
      (router) => {
        router.service(InventoryService, {
          getProduct(req) {
            if (req.id === "unavailable")
              throw new ConnectError("redis at 10.1.2.3:6379 refused", Code.Unavailable);
            if (req.id === "missing")
              throw new ConnectError(`product "${req.id}" was not found`, Code.NotFound);
            throw new Error("database exploded at 10.1.2.3:5432");
          },
        });
      },
      log.logger,
      new RpcMetrics(createMetricsRegistry({ defaultMetrics: false })),
    );
    return { log, client: createClient(InventoryService, transports.inProcess) };
  }

  async function failure(promise: Promise<unknown>): Promise<ConnectError> {
    const outcome = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(outcome).toBeInstanceOf(ConnectError);
    return outcome as ConnectError;
  }

  it("logs an internal error once with the request's id, and answers that id in x-request-id", async () => {
    const { log, client } = failingModule();
    const request: RequestContext = { requestId: "failing-1", traceId: undefined };
    const error = await failure(
      client.getProduct(
        { id: "explode" },
        {
          contextValues: createContextValues().set(REQUEST_CONTEXT, request),
          // A caller's header does not win over the request the call serves.
          headers: { "x-request-id": "header-id" },
        },
      ),
    );
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe("internal error");
    expect(error.metadata.get("x-request-id")).toBe("failing-1");
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({
      level: 50,
      msg: "request failed: internal error",
      code: "Internal",
      operation: GET_PRODUCT,
      requestId: "failing-1",
      err: { message: "database exploded at 10.1.2.3:5432" },
    });
  });

  it("logs an unavailable failure as a warning with the request's id", async () => {
    const { log, client } = failingModule();
    const error = await failure(
      client.getProduct(
        { id: "unavailable" },
        {
          contextValues: createContextValues().set(REQUEST_CONTEXT, {
            requestId: "warn-1",
            traceId: undefined,
          }),
        },
      ),
    );
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toBe("a service this request needs is unavailable; retry later");
    expect(error.metadata.get("x-request-id")).toBe("warn-1");
    expect(log.lines).toEqual([
      expect.objectContaining({
        level: 40,
        code: "Unavailable",
        operation: GET_PRODUCT,
        requestId: "warn-1",
      }),
    ]);
  });

  it("neither logs nor tags a caller's mistake", async () => {
    const { log, client } = failingModule();
    const error = await failure(
      client.getProduct(
        { id: "missing" },
        {
          contextValues: createContextValues().set(REQUEST_CONTEXT, {
            requestId: "nf-1",
            traceId: undefined,
          }),
        },
      ),
    );
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toBe('product "missing" was not found');
    expect(error.metadata.get("x-request-id")).toBeNull();
    expect(log.lines).toEqual([]);
  });

  it("without a request context, uses the caller's sane x-request-id header", async () => {
    const { log, client } = failingModule();
    const error = await failure(
      client.getProduct({ id: "explode" }, { headers: { "x-request-id": "hdr-7" } }),
    );
    expect(error.metadata.get("x-request-id")).toBe("hdr-7");
    expect(log.lines).toEqual([expect.objectContaining({ requestId: "hdr-7", operation: GET_PRODUCT })]);
  });

  it("with neither, logs and answers one new uuid", async () => {
    const { log, client } = failingModule();
    const error = await failure(
      client.getProduct({ id: "explode" }, { headers: { "x-request-id": "has space" } }),
    );
    const id = error.metadata.get("x-request-id");
    expect(id).toMatch(UUID);
    expect(log.lines).toEqual([expect.objectContaining({ requestId: id })]);
  });

  it("reportHandlerFailure on a handler context: the same id in the log line and the metadata", () => {
    const log = capturedLog();
    const context = {
      service: InventoryService,
      method: InventoryService.method.getProduct,
      requestHeader: new Headers(),
      values: createContextValues().set(REQUEST_CONTEXT, { requestId: "direct-1", traceId: undefined }),
    } as unknown as HandlerContext;
    const error = reportHandlerFailure(log.logger, new Error("boom"), context);
    expect(error.code).toBe(Code.Internal);
    expect(error.metadata.get("x-request-id")).toBe("direct-1");
    expect(log.lines).toEqual([expect.objectContaining({ requestId: "direct-1", operation: GET_PRODUCT })]);
  });
});
