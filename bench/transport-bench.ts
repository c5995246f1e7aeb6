/**
 * Per-call cost of a unary GetProduct that returns a pre-built message, three ways: a direct call of
 * the implementation, a Connect client over the in-process transport, and a Connect client over
 * Connect's createRouterTransport (which serializes through the full protocol).
 *
 * Run: npx tsx bench/transport-bench.ts
 */
import { pathToFileURL } from "node:url";
import { create } from "@bufbuild/protobuf";
import {
  type ConnectRouter,
  createClient,
  createHandlerContext,
  createRouterTransport,
  type ServiceImpl,
  type Transport,
} from "@connectrpc/connect";
import {
  GetProductRequestSchema,
  GetProductResponseSchema,
  InventoryService,
} from "../src/gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { ProductSchema } from "../src/gen/ecommerce/inventory/v1/product_pb.js";
import { createInProcessTransport } from "../src/platform/transport/in-process-transport.js";

/** Figures of one run; times are microseconds per call. */
export interface TransportBenchResult {
  directUs: number;
  inProcessUs: number;
  /** The in-process call with a 10 s deadline, as every gateway call has. */
  withDeadlineUs: number;
  routerUs: number;
  /** inProcessUs / directUs */
  inProcessVsDirect: number;
  /** routerUs / inProcessUs */
  routerVsInProcess: number;
  calls: { direct: number; inProcess: number; router: number };
}

/** How many calls to time for each path. */
export interface TransportBenchOptions {
  directCalls?: number;
  inProcessCalls?: number;
  routerCalls?: number;
}

/** Measures the three paths and returns µs per call. */
export async function runTransportBench(options: TransportBenchOptions = {}): Promise<TransportBenchResult> {
  const calls = {
    direct: options.directCalls ?? 200_000,
    inProcess: options.inProcessCalls ?? 200_000,
    router: options.routerCalls ?? 20_000,
  };
  const response = create(GetProductResponseSchema, {
    product: create(ProductSchema, {
      id: "p-1",
      name: "Espresso machine",
      description: "Pump, 15 bar",
      category: "kitchen",
      priceCents: 24_900n,
      stock: 7,
    }),
  });
  const impl: Pick<ServiceImpl<typeof InventoryService>, "getProduct"> = {
    getProduct: async () => response,
  };
  const routes = (router: ConnectRouter) => {
    router.service(InventoryService, impl);
  };
  const request = create(GetProductRequestSchema, { id: "p-1" });

  const context = createHandlerContext({
    service: InventoryService,
    method: InventoryService.method.getProduct,
    protocolName: "connect",
    requestMethod: "POST",
    url: "https://direct/ecommerce.inventory.v1.InventoryService/GetProduct",
  });
  const direct = () => impl.getProduct(request, context);
  const viaClient = (transport: Transport, timeoutMs?: number) => {
    const client = createClient(InventoryService, transport);
    return () => client.getProduct(request, { timeoutMs });
  };

  const directUs = await measure(direct, calls.direct);
  const inProcessUs = await measure(viaClient(createInProcessTransport(routes)), calls.inProcess);
  // Every gateway call carries RPC_TIMEOUT_MS (10 s by default).
  const withDeadlineUs = await measure(viaClient(createInProcessTransport(routes), 10_000), calls.inProcess);
  const routerUs = await measure(viaClient(createRouterTransport(routes)), calls.router);
  return {
    directUs,
    inProcessUs,
    withDeadlineUs,
    routerUs,
    inProcessVsDirect: inProcessUs / directUs,
    routerVsInProcess: routerUs / inProcessUs,
    calls,
  };
}

/** Warms up with a tenth of `calls` (at least 1000), then times `calls` sequential calls. */
async function measure(fn: () => unknown, calls: number): Promise<number> {
  const warmup = Math.max(1000, Math.floor(calls / 10));
  for (let i = 0; i < warmup; i++) {
    await fn();
  }
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    await fn();
  }
  const elapsedNs = Number(process.hrtime.bigint() - start);
  return elapsedNs / calls / 1000;
}

/** Prints the figures as a small table. */
export function printTransportFigures(result: TransportBenchResult): void {
  const row = (path: string, calls: number, us: number, ratio: string) =>
    `${path.padEnd(26)}${String(calls).padStart(9)}${us.toFixed(3).padStart(12)}${ratio.padStart(12)}`;
  const lines = [
    `${"path".padEnd(26)}${"calls".padStart(9)}${"µs/call".padStart(12)}${"× direct".padStart(12)}`,
    row("direct implementation", result.calls.direct, result.directUs, "1.0"),
    row(
      "in-process transport",
      result.calls.inProcess,
      result.inProcessUs,
      result.inProcessVsDirect.toFixed(1),
    ),
    row(
      "in-process, 10 s deadline",
      result.calls.inProcess,
      result.withDeadlineUs,
      (result.withDeadlineUs / result.directUs).toFixed(1),
    ),
    row(
      "router transport",
      result.calls.router,
      result.routerUs,
      (result.routerUs / result.directUs).toFixed(1),
    ),
    "",
    `router transport / in-process transport: ${result.routerVsInProcess.toFixed(1)}×`,
  ];
  console.log(lines.join("\n"));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printTransportFigures(await runTransportBench());
}
