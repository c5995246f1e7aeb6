/**
 * OpenTelemetry tracing end to end, through processes started as `npm start` starts them and a
 * test OTLP receiver (test/support/otlp-receiver.ts): one order is one trace, whatever the
 * topology — the REST span continues the caller's `traceparent`, the Connect client and server
 * spans chain across processes (or in process), PostgreSQL statements hang under the handler that
 * sent them (with placeholders, never values), and the order's event goes create → publish →
 * process into the statistics projection. Tracing off sends nothing, and an exporter that cannot
 * reach its endpoint costs requests nothing. docs/operations.md, "Tracing".
 *
 * Spans are exported in batches (every ~5 s, and on SIGTERM), so assertions wait on the receiver.
 * Every topology is started once, all at the same time, in the first hook.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChildApp, freePorts } from "./support/child-app.js";
import { serviceUrls, testToken } from "./support/deployment.js";
import { httpCall } from "./support/http-call.js";
import type { OrderJson } from "./support/order-json.js";
import {
  type OtlpReceiver,
  type ReceivedSpan,
  SPAN_KIND,
  startOtlpReceiver,
} from "./support/otlp-receiver.js";
import type { ProductJson } from "./support/product-json.js";
import {
  type OneProcess,
  type SplitTopology,
  startOneProcess as startOneProcessTopology,
  startSplitTopology,
} from "./support/topologies.js";

// The processes inherit this process's environment: no OTEL_* setting of the runner's may leak in.
for (const name of Object.keys(process.env)) if (name.startsWith("OTEL_")) delete process.env[name];

const CREATE_ORDER = "ecommerce.orders.v1.OrderService/CreateOrder";
const RESERVE_STOCK = "ecommerce.inventory.v1.StockService/ReserveStock";
const ORDER_CREATED = "orders.order.created";
/**
 * How far apart two spans' times may be off: the SDK takes a span's start from Date.now() (whole
 * milliseconds) and its duration from performance.now(), so spans compare to within 1 ms.
 */
const CLOCK_SLACK_NS = 1_000_000n;
/** Long enough for a batch (~5 s) from every process, with room for a loaded machine. */
const EXPORT_WAIT_MS = 20_000;

// ——— the processes ———

/** The whole platform in one process at the default log level (the access log is read). */
function startOneProcess(env: Record<string, string>): Promise<OneProcess> {
  return startOneProcessTopology({ LOG_LEVEL: "info", ...env });
}

/**
 * A bare HTTP server on the OTLP/HTTP default port (4318, where an exporter sends when given no
 * endpoint), counting whatever reaches it; undefined when that port is taken.
 */
async function listenOnDefaultOtlpPort(): Promise<
  { requests: string[]; close(): Promise<void> } | undefined
> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    request.resume();
    response.writeHead(200).end();
  });
  for (const host of ["::", "0.0.0.0"]) {
    const listening = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(4318, host, () => resolve(true));
    });
    if (listening)
      return { requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }
  return undefined;
}

// ——— requests ———

interface Shop {
  baseUrl: string;
  admin: string;
  customer: string;
  /** The customer's `sub`: a value no trace may carry. */
  customerId: string;
}

async function shopAt(baseUrl: string): Promise<Shop> {
  const customerId = `tracing-customer-${randomBytes(4).toString("hex")}`;
  return {
    baseUrl,
    admin: await testToken("tracing-admin", "admin"),
    customer: await testToken(customerId, "customer"),
    customerId,
  };
}

async function createProduct(shop: Shop): Promise<ProductJson> {
  const result = await httpCall(shop.baseUrl, "POST", "/products", {
    token: shop.admin,
    json: {
      name: `Traced ${randomBytes(3).toString("hex")}`,
      description: "tracing fixture",
      category: "tracing",
      price_cents: 1250,
      stock: 100,
    },
  });
  expect(result.status, result.text).toBe(201);
  return result.body as ProductJson;
}

interface PlacedOrder {
  order: OrderJson;
  requestId: string;
}

async function placeOrder(shop: Shop, productId: string, traceparent?: string): Promise<PlacedOrder> {
  const result = await httpCall(shop.baseUrl, "POST", "/orders", {
    token: shop.customer,
    json: { items: [{ product_id: productId, quantity: 2 }] },
    headers: traceparent === undefined ? {} : { traceparent },
  });
  expect(result.status, result.text).toBe(201);
  return { order: result.body as OrderJson, requestId: result.headers.get("x-request-id") ?? "" };
}

/** A W3C traceparent of a sampled caller span. */
function traceparentOf(traceId: string, spanId: string): string {
  return `00-${traceId}-${spanId}-01`;
}

const randomTraceId = () => randomBytes(16).toString("hex");
const randomSpanId = () => randomBytes(8).toString("hex");

// ——— access log ———

type LogLine = Record<string, unknown>;

function jsonLines(output: string): LogLine[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
}

/** The access-log line of a request, once printed (log lines are written in batches). */
async function accessLine(app: ChildApp, requestId: string): Promise<LogLine> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const line = jsonLines(app.output()).find(
      (candidate) => candidate.msg === "request" && candidate.requestId === requestId,
    );
    if (line !== undefined) return line;
    if (Date.now() > deadline)
      throw new Error(`no access-log line for request ${requestId}:\n${app.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// ——— reading traces ———

const inTrace = (spans: readonly ReceivedSpan[], traceId: string) =>
  spans.filter((span) => span.traceId === traceId);

function describeSpan(span: ReceivedSpan): string {
  return `${span.service} kind=${span.kind} "${span.name}" ${span.traceId}/${span.spanId} <- ${span.parentSpanId || "(root)"}`;
}

/** The one span that fits, failing with what there was otherwise. */
function theSpan(
  spans: readonly ReceivedSpan[],
  what: string,
  fits: (span: ReceivedSpan) => boolean,
): ReceivedSpan {
  const found = spans.filter(fits);
  if (found.length !== 1) {
    throw new Error(
      `expected one ${what}, found ${found.length}; spans:\n${spans.map(describeSpan).join("\n")}`,
    );
  }
  return found[0] as ReceivedSpan;
}

const named = (name: string, kind: number, service?: string) => (span: ReceivedSpan) =>
  span.name === name && span.kind === kind && (service === undefined || span.service === service);

/** Whether `span` is `ancestor` or below it in `spans`. */
function isUnder(spans: readonly ReceivedSpan[], span: ReceivedSpan, ancestor: ReceivedSpan): boolean {
  const byId = new Map(spans.map((each) => [each.spanId, each]));
  for (let current: ReceivedSpan | undefined = span; current !== undefined; ) {
    if (current.spanId === ancestor.spanId) return true;
    current = byId.get(current.parentSpanId);
  }
  return false;
}

/** The spans of the trace whose parent is neither in it nor `rootParent` (none once all arrived). */
function orphans(trace: readonly ReceivedSpan[], rootParent: string): ReceivedSpan[] {
  const ids = new Set(trace.map((span) => span.spanId));
  return trace.filter((span) => span.parentSpanId !== rootParent && !ids.has(span.parentSpanId));
}

/** Whether the five spans of an order's request are all in `trace` (each process exports on its own). */
function hasOrderChain(trace: readonly ReceivedSpan[]): boolean {
  return (
    trace.some(named("POST /orders", SPAN_KIND.server)) &&
    trace.some(named(CREATE_ORDER, SPAN_KIND.client)) &&
    trace.some(named(CREATE_ORDER, SPAN_KIND.server)) &&
    trace.some(named(RESERVE_STOCK, SPAN_KIND.client)) &&
    trace.some(named(RESERVE_STOCK, SPAN_KIND.server))
  );
}

/** Whether every Connect client span of `trace` has its server span (the callee's export) in it too. */
function callsAnswered(trace: readonly ReceivedSpan[]): boolean {
  return trace
    .filter((span) => span.kind === SPAN_KIND.client && span.attributes["rpc.system"] !== undefined)
    .every((client) =>
      trace.some((span) => span.kind === SPAN_KIND.server && span.parentSpanId === client.spanId),
    );
}

/** Whether the statistics projection of the event published by `publish` is in the receiver. */
function statisticsProcessed(
  spans: readonly ReceivedSpan[],
  publish: ReceivedSpan,
  service: string,
): boolean {
  return spans.some(
    (span) =>
      span.service === service &&
      span.kind === SPAN_KIND.consumer &&
      span.name === `process ${ORDER_CREATED}` &&
      ((span.traceId === publish.traceId && span.parentSpanId === publish.spanId) ||
        span.links.some((link) => link.traceId === publish.traceId && link.spanId === publish.spanId)),
  );
}

/**
 * The REST → Connect part of a trace as a tree of "kind name" (service left out), children sorted:
 * what must look the same in one process and split into four.
 */
function requestSkeleton(trace: readonly ReceivedSpan[], root: ReceivedSpan): string[] {
  const lines: string[] = [];
  const walk = (span: ReceivedSpan, depth: number) => {
    lines.push(`${"  ".repeat(depth)}${span.kind} ${span.name}`);
    const children = trace
      .filter((child) => child.parentSpanId === span.spanId && child.attributes["rpc.system"] !== undefined)
      .sort((a, b) => `${a.name}${a.kind}`.localeCompare(`${b.name}${b.kind}`));
    for (const child of children) walk(child, depth + 1);
  };
  walk(root, 0);
  return lines;
}

/** A trace as an indented tree with services and durations (printed with PRINT_TRACES=1). */
function renderTrace(trace: readonly ReceivedSpan[], spans: readonly ReceivedSpan[] = trace): string {
  const ids = new Set(trace.map((span) => span.spanId));
  const lines: string[] = [];
  const walk = (span: ReceivedSpan, depth: number) => {
    const ms = Number(span.endNs - span.startNs) / 1e6;
    const db = span.attributes["db.query.text"];
    lines.push(
      `${"  ".repeat(depth)}${span.name} [${span.service}, ${["?", "internal", "server", "client", "producer", "consumer"][span.kind]}] ${ms.toFixed(2)} ms${db === undefined ? "" : ` — ${String(db).replace(/\s+/g, " ").trim().slice(0, 70)}`}`,
    );
    const children = trace
      .filter((child) => child.parentSpanId === span.spanId)
      .sort((a, b) => Number(a.startNs - b.startNs));
    for (const child of children) walk(child, depth + 1);
    for (const linked of spans.filter((other) =>
      other.links.some((link) => link.spanId === span.spanId && link.traceId === span.traceId),
    ))
      walk({ ...linked, name: `(link) ${linked.name}` }, depth + 1);
  };
  for (const root of trace.filter((span) => !ids.has(span.parentSpanId))) walk(root, 0);
  return lines.join("\n");
}

function printTrace(title: string, trace: readonly ReceivedSpan[], spans: readonly ReceivedSpan[]): void {
  if (process.env.PRINT_TRACES === "1") console.log(`${title}\n${renderTrace(trace, spans)}`);
}

/** The spans of one order's request, checked link by link: REST → CreateOrder → ReserveStock. */
interface OrderTrace {
  rest: ReceivedSpan;
  createOrderClient: ReceivedSpan;
  createOrderServer: ReceivedSpan;
  reserveStockClient: ReceivedSpan;
  reserveStockServer: ReceivedSpan;
}

function expectOrderChain(
  trace: readonly ReceivedSpan[],
  services: { gateway: string; orders: string; inventory: string },
  restParent: string,
): OrderTrace {
  const rest = theSpan(trace, "REST span", named("POST /orders", SPAN_KIND.server, services.gateway));
  expect(rest.parentSpanId).toBe(restParent);
  expect(rest.attributes).toMatchObject({
    "http.request.method": "POST",
    "url.path": "/orders",
    "http.route": "/orders",
    "http.response.status_code": 201,
  });
  const createOrderClient = theSpan(
    trace,
    "CreateOrder client span",
    named(CREATE_ORDER, SPAN_KIND.client, services.gateway),
  );
  expect(createOrderClient.parentSpanId).toBe(rest.spanId);
  expect(createOrderClient.attributes).toMatchObject({
    "rpc.system": "connect_rpc",
    "rpc.service": "ecommerce.orders.v1.OrderService",
    "rpc.method": "CreateOrder",
  });
  // Within the REST span (to the SDK's precision: a span's start is Date.now(), whole milliseconds).
  expect(createOrderClient.startNs).toBeGreaterThanOrEqual(rest.startNs - CLOCK_SLACK_NS);
  expect(createOrderClient.endNs).toBeLessThanOrEqual(rest.endNs + CLOCK_SLACK_NS);
  const createOrderServer = theSpan(
    trace,
    "CreateOrder server span",
    named(CREATE_ORDER, SPAN_KIND.server, services.orders),
  );
  expect(createOrderServer.parentSpanId).toBe(createOrderClient.spanId);
  expect(createOrderServer.attributes).toMatchObject({
    "rpc.system": "connect_rpc",
    "rpc.service": "ecommerce.orders.v1.OrderService",
    "rpc.method": "CreateOrder",
  });
  expect(createOrderServer.attributes["rpc.connect_rpc.error_code"]).toBeUndefined();
  const reserveStockClient = theSpan(
    trace,
    "ReserveStock client span",
    named(RESERVE_STOCK, SPAN_KIND.client, services.orders),
  );
  expect(reserveStockClient.parentSpanId).toBe(createOrderServer.spanId);
  const reserveStockServer = theSpan(
    trace,
    "ReserveStock server span",
    named(RESERVE_STOCK, SPAN_KIND.server, services.inventory),
  );
  expect(reserveStockServer.parentSpanId).toBe(reserveStockClient.spanId);
  expect(reserveStockServer.attributes).toMatchObject({
    "rpc.system": "connect_rpc",
    "rpc.service": "ecommerce.inventory.v1.StockService",
    "rpc.method": "ReserveStock",
  });
  return { rest, createOrderClient, createOrderServer, reserveStockClient, reserveStockServer };
}

// ——— the suite ———

describe.skipIf(Array.isArray(serviceUrls()))("tracing", () => {
  let splitReceiver: OtlpReceiver;
  let jsonReceiver: OtlpReceiver;
  let offReceiver: OtlpReceiver;
  let defaultPort: Awaited<ReturnType<typeof listenOnDefaultOtlpPort>>;
  let split: SplitTopology | undefined;
  let json: OneProcess | undefined;
  let off: OneProcess | undefined;
  let failing: OneProcess | undefined;
  /** The order traced through the split topology, to compare the one-process trace with. */
  let splitOrder: { traceId: string; restSpanId: string } | undefined;

  beforeAll(async () => {
    [splitReceiver, jsonReceiver, offReceiver, defaultPort] = await Promise.all([
      startOtlpReceiver(),
      startOtlpReceiver(),
      startOtlpReceiver(),
      listenOnDefaultOtlpPort(),
    ]);
    const [closedPort] = (await freePorts(1)) as [number];
    const started = await Promise.allSettled([
      startSplitTopology({ LOG_LEVEL: "info", OTEL_EXPORTER_OTLP_ENDPOINT: splitReceiver.url }),
      startOneProcess({
        OTEL_EXPORTER_OTLP_ENDPOINT: jsonReceiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      }),
      startOneProcess({}),
      startOneProcess({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}` }),
    ]);
    const [s, j, o, f] = started;
    split = s.status === "fulfilled" ? s.value : undefined;
    json = j.status === "fulfilled" ? j.value : undefined;
    off = o.status === "fulfilled" ? o.value : undefined;
    failing = f.status === "fulfilled" ? f.value : undefined;
    const failed = started.find((result) => result.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([split?.stop(), json?.stop(), off?.stop(), failing?.stop()]);
    await Promise.all([
      splitReceiver?.close(),
      jsonReceiver?.close(),
      offReceiver?.close(),
      defaultPort?.close(),
    ]);
  }, 60_000);

  describe("split into four processes (OTLP/protobuf)", () => {
    const services = {
      gateway: "ecommerce-gateway",
      orders: "ecommerce-orders",
      inventory: "ecommerce-inventory",
      statistics: "ecommerce-statistics",
    };

    it("one order with the caller's traceparent is one trace across gateway, orders, inventory and statistics", async () => {
      const topology = split as SplitTopology;
      const shop = await shopAt(topology.baseUrl);
      const product = await createProduct(shop);
      const traceId = randomTraceId();
      const callerSpanId = randomSpanId();
      const { order, requestId } = await placeOrder(shop, product.id, traceparentOf(traceId, callerSpanId));

      // The access log of the gateway names the caller's trace.
      const logged = await accessLine(topology.processes.gateway, requestId);
      expect(logged).toMatchObject({ method: "POST", route: "/orders", status: 201, traceId });

      // Wait for the whole trace: the statistics projection of the order, and no span whose parent
      // has not arrived (every process exports on its own schedule).
      let publish: ReceivedSpan | undefined;
      await splitReceiver
        .waitFor((spans) => {
          const trace = inTrace(spans, traceId);
          publish = trace.find(named(`publish ${ORDER_CREATED}`, SPAN_KIND.producer));
          return (
            publish !== undefined &&
            statisticsProcessed(spans, publish, services.statistics) &&
            hasOrderChain(trace) &&
            callsAnswered(trace) &&
            orphans(trace, callerSpanId).length === 0 &&
            trace.some(
              (span) => span.attributes["db.system"] === "postgresql" && span.service === services.inventory,
            )
          );
        }, EXPORT_WAIT_MS)
        .catch((error: Error) => {
          const trace = inTrace(splitReceiver.spans, traceId);
          throw new Error(
            `${error.message}\ntrace so far:\n${trace.map(describeSpan).join("\n")}\norphans:\n${orphans(trace, callerSpanId).map(describeSpan).join("\n")}`,
          );
        });
      const spans = [...splitReceiver.spans];
      const trace = inTrace(spans, traceId);
      printTrace(`split trace ${traceId}`, trace, spans);

      // One trace, every span of it reachable from the caller's span.
      expect(orphans(trace, callerSpanId)).toEqual([]);
      for (const service of [services.gateway, services.orders, services.inventory])
        expect(
          trace.some((span) => span.service === service),
          service,
        ).toBe(true);

      const chain = expectOrderChain(trace, services, callerSpanId);
      splitOrder = { traceId, restSpanId: chain.rest.spanId };

      // PostgreSQL statements of the reservation, under inventory's handler, without values.
      const reservationStatements = trace.filter(
        (span) =>
          span.attributes["db.system"] === "postgresql" && isUnder(trace, span, chain.reserveStockServer),
      );
      expect(reservationStatements.length).toBeGreaterThan(0);
      for (const statement of reservationStatements) {
        expect(statement.service).toBe(services.inventory);
        expect(statement.kind).toBe(SPAN_KIND.client);
        expect(statement.attributes["db.operation.name"]).toMatch(/^[A-Z]+$/);
      }
      expect(
        reservationStatements.some((span) => String(span.attributes["db.query.text"]).includes("$1")),
      ).toBe(true);
      // No statement anywhere (this trace or another) carries a value the requests sent.
      const statements = spans.filter((span) => span.attributes["db.system"] === "postgresql");
      expect(statements.length).toBeGreaterThan(reservationStatements.length);
      for (const statement of statements) {
        const text = String(statement.attributes["db.query.text"]);
        for (const value of [product.id, order.id, shop.customerId, product.name])
          expect(text, `a statement carries ${value}: ${text}`).not.toContain(value);
      }
      // Nor does any span carry a credential.
      for (const span of spans) {
        const attributes = JSON.stringify(span.attributes);
        for (const token of [shop.customer, shop.admin])
          expect(attributes, describeSpan(span)).not.toContain(token.split(".")[2]);
      }

      // The order's event: created in the orders handler, published by the relay, processed by
      // the statistics projection — one event, all of it in this trace (or linked to it).
      const create = theSpan(
        trace,
        `create ${ORDER_CREATED}`,
        named(`create ${ORDER_CREATED}`, SPAN_KIND.producer, services.orders),
      );
      expect(create.parentSpanId).toBe(chain.createOrderServer.spanId);
      const eventId = create.attributes["messaging.message.id"];
      expect(eventId).toEqual(expect.any(String));
      const sent = publish as ReceivedSpan;
      expect(sent.service).toBe(services.orders);
      expect(sent.parentSpanId).toBe(create.spanId);
      expect(sent.attributes).toMatchObject({
        "messaging.system": "nats",
        "messaging.destination.name": ORDER_CREATED,
        "messaging.message.id": eventId,
      });
      const processing = spans.filter(
        named(`process ${ORDER_CREATED}`, SPAN_KIND.consumer, services.statistics),
      );
      const projection = processing.find(
        (span) =>
          (span.traceId === traceId && span.parentSpanId === sent.spanId) ||
          span.links.some((link) => link.traceId === traceId && link.spanId === sent.spanId),
      );
      expect(projection, processing.map(describeSpan).join("\n")).toBeDefined();
      expect(projection?.startNs).toBeGreaterThanOrEqual(sent.startNs - CLOCK_SLACK_NS);
      // Every span about this event is in this trace, or a batch span linked into it.
      for (const span of spans.filter((each) => each.attributes["messaging.message.id"] === eventId))
        expect(span.traceId, describeSpan(span)).toBe(traceId);
    }, 60_000);

    it("a request without traceparent starts a new trace, which the access log names", async () => {
      const topology = split as SplitTopology;
      const shop = await shopAt(topology.baseUrl);
      const product = await createProduct(shop);
      const { requestId } = await placeOrder(shop, product.id);
      const logged = await accessLine(topology.processes.gateway, requestId);
      expect(logged).toMatchObject({ route: "/orders", status: 201 });
      const traceId = logged.traceId as string;
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(traceId).not.toBe("0".repeat(32));

      await splitReceiver.waitFor((spans) => hasOrderChain(inTrace(spans, traceId)), EXPORT_WAIT_MS);
      const trace = inTrace(splitReceiver.spans, traceId);
      // The REST span is the root, and the order's calls continue its trace.
      expectOrderChain(trace, services, "");
    }, 40_000);

    it("orders sent together keep each its own trace: CreateOrder under its REST span, linked to the batch", async () => {
      const topology = split as SplitTopology;
      const admin = await shopAt(topology.baseUrl);
      const product = await createProduct(admin);
      // Twenty customers at once: the gateway sends the ones placed while a call is on its way in
      // one CreateOrders call.
      const callers = await Promise.all(Array.from({ length: 20 }, () => shopAt(topology.baseUrl)));
      const traceIds = callers.map(() => randomTraceId());
      await Promise.all(
        callers.map((shop, index) =>
          placeOrder(shop, product.id, traceparentOf(traceIds[index] as string, randomSpanId())),
        ),
      );

      // Every order's trace holds its REST span and its CreateOrder server span in orders.
      const createOrderServerOf = (spans: readonly ReceivedSpan[], traceId: string) =>
        inTrace(spans, traceId).find(named(CREATE_ORDER, SPAN_KIND.server, services.orders));
      // Each process exports on its own schedule: wait for the REST span and the CreateOrder
      // server span of every order, and for the batch spans linked to them.
      const traceComplete = (spans: readonly ReceivedSpan[], traceId: string) => {
        const server = createOrderServerOf(spans, traceId);
        const rest = inTrace(spans, traceId).find(named("POST /orders", SPAN_KIND.server, services.gateway));
        return (
          server !== undefined &&
          rest !== undefined &&
          (server.attributes["rpc.batch"] === undefined ||
            spans.some((span) => span.links.some((link) => link.spanId === rest.spanId)))
        );
      };
      const complete = (spans: readonly ReceivedSpan[]) =>
        traceIds.every((traceId) => traceComplete(spans, traceId));
      await splitReceiver.waitFor(complete, 2 * EXPORT_WAIT_MS).catch((error: Error) => {
        const spans = splitReceiver.spans;
        const missing = traceIds.filter(
          (traceId) => !complete(spans.filter((span) => span.traceId === traceId || span.links.length > 0)),
        );
        const items = spans.filter((span) => span.attributes["rpc.batch"] !== undefined);
        throw new Error(
          `${error.message.slice(0, 200)}\nincomplete traces: ${missing.map((traceId) => inTrace(spans, traceId).map(describeSpan).join("; ")).join("\n")}\nbatched CreateOrder spans: ${items.map(describeSpan).join("\n")}`,
        );
      });
      const spans = [...splitReceiver.spans];
      const batched = traceIds.filter(
        (traceId) => createOrderServerOf(spans, traceId)?.attributes["rpc.batch"] !== undefined,
      );
      expect(batched.length, "orders that went in a CreateOrders call").toBeGreaterThan(0);
      for (const traceId of batched) {
        const trace = inTrace(spans, traceId);
        const rest = theSpan(trace, "REST span", named("POST /orders", SPAN_KIND.server, services.gateway));
        const server = createOrderServerOf(spans, traceId) as ReceivedSpan;
        // The order's work continues its request's trace, as a call of its own would.
        expect(server.parentSpanId).toBe(rest.spanId);
        expect(server.attributes).toMatchObject({
          "rpc.system": "connect_rpc",
          "rpc.service": "ecommerce.orders.v1.OrderService",
          "rpc.method": "CreateOrder",
          "rpc.batch": "ecommerce.orders.v1.OrderBatchService/CreateOrders",
        });
        expect(
          trace.some((span) => span.attributes["db.system"] === "postgresql" && isUnder(trace, span, server)),
        ).toBe(true);
        // The call made for several orders: a trace of its own, linked to this order's REST span.
        const batch = spans.find(
          (span) =>
            span.name === "create orders for several callers" &&
            span.links.some((link) => link.traceId === traceId && link.spanId === rest.spanId),
        );
        expect(batch, `the batch linked to ${traceId}`).toBeDefined();
        expect(batch?.service).toBe(services.gateway);
        expect(batch?.traceId).not.toBe(traceId);
      }
    }, 60_000);

    it("every process exports as its own service, over OTLP/protobuf", () => {
      expect(new Set(splitReceiver.contentTypes)).toEqual(new Set(["application/x-protobuf"]));
      expect(new Set(splitReceiver.spans.map((span) => span.service))).toEqual(
        new Set(Object.values(services)),
      );
    });
  });

  describe("one process (OTLP/JSON)", () => {
    it("exports JSON, and an order's trace has the same shape as split into processes", async () => {
      const app = (json as OneProcess).app;
      const shop = await shopAt(app.url);
      const product = await createProduct(shop);
      const traceId = randomTraceId();
      const callerSpanId = randomSpanId();
      const { requestId } = await placeOrder(shop, product.id, traceparentOf(traceId, callerSpanId));
      expect(await accessLine(app, requestId)).toMatchObject({ route: "/orders", traceId });

      let publish: ReceivedSpan | undefined;
      await jsonReceiver.waitFor((spans) => {
        const trace = inTrace(spans, traceId);
        publish = trace.find(named(`publish ${ORDER_CREATED}`, SPAN_KIND.producer));
        return (
          publish !== undefined &&
          statisticsProcessed(spans, publish, "ecommerce") &&
          hasOrderChain(trace) &&
          callsAnswered(trace) &&
          orphans(trace, callerSpanId).length === 0
        );
      }, EXPORT_WAIT_MS);
      expect(jsonReceiver.contentTypes.length).toBeGreaterThan(0);
      for (const type of jsonReceiver.contentTypes) expect(type).toMatch(/^application\/json\b/);

      const spans = [...jsonReceiver.spans];
      const trace = inTrace(spans, traceId);
      printTrace(`one-process trace ${traceId}`, trace, spans);
      expect(new Set(spans.map((span) => span.service))).toEqual(new Set(["ecommerce"]));
      const services = { gateway: "ecommerce", orders: "ecommerce", inventory: "ecommerce" };
      const chain = expectOrderChain(trace, services, callerSpanId);
      const create = theSpan(
        trace,
        `create ${ORDER_CREATED}`,
        named(`create ${ORDER_CREATED}`, SPAN_KIND.producer),
      );
      expect(create.parentSpanId).toBe(chain.createOrderServer.spanId);
      expect(publish?.parentSpanId).toBe(create.spanId);
      expect(
        trace.some(
          (span) =>
            span.attributes["db.system"] === "postgresql" && isUnder(trace, span, chain.reserveStockServer),
        ),
      ).toBe(true);

      // The same REST → Connect tree as the split topology's order (services aside).
      expect(splitOrder, "the split topology's traced order (first test)").toBeDefined();
      const splitTrace = inTrace(splitReceiver.spans, splitOrder?.traceId ?? "");
      const splitRest = theSpan(
        splitTrace,
        "split REST span",
        (span) => span.spanId === splitOrder?.restSpanId,
      );
      expect(requestSkeleton(trace, chain.rest)).toEqual(requestSkeleton(splitTrace, splitRest));
      expect(requestSkeleton(trace, chain.rest).slice(0, 5)).toEqual([
        `${SPAN_KIND.server} POST /orders`,
        `  ${SPAN_KIND.client} ${CREATE_ORDER}`,
        `    ${SPAN_KIND.server} ${CREATE_ORDER}`,
        expect.stringMatching(/^ {6}3 /),
        expect.stringMatching(/^ {8}2 /),
      ]);
    }, 40_000);
  });

  describe("tracing off (no OTEL_* settings)", () => {
    it("exports nothing, and the access log names a trace only when the caller sent one", async () => {
      const { app } = off as OneProcess;
      const shop = await shopAt(app.url);
      const product = await createProduct(shop);
      const traceId = randomTraceId();
      const traced = await placeOrder(shop, product.id, traceparentOf(traceId, randomSpanId()));
      const untraced = await placeOrder(shop, product.id);
      const read = await httpCall(app.url, "GET", `/products/${product.id}`);
      expect(read.status).toBe(200);

      expect(await accessLine(app, traced.requestId)).toMatchObject({ route: "/orders", traceId });
      const untracedLine = await accessLine(app, untraced.requestId);
      expect(untracedLine).toMatchObject({ route: "/orders", status: 201 });
      expect(untracedLine).not.toHaveProperty("traceId");
      expect(await accessLine(app, read.headers.get("x-request-id") ?? "")).not.toHaveProperty("traceId");
      // Nothing but the caller's trace id anywhere in the log.
      const traceIds = new Set(
        jsonLines(app.output()).flatMap((line) => (line.traceId === undefined ? [] : [line.traceId])),
      );
      expect(traceIds).toEqual(new Set([traceId]));

      // A shutdown flushes whatever a tracer would have buffered: there is none.
      const { code } = await app.stop("SIGTERM");
      expect(code).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(offReceiver.spans).toEqual([]);
      expect(offReceiver.contentTypes).toEqual([]);
      // Not even to the OTLP default endpoint (when this run could listen on it).
      if (defaultPort !== undefined) expect(defaultPort.requests).toEqual([]);
    }, 40_000);
  });

  describe("an endpoint that cannot be reached", () => {
    it("costs requests nothing: they answer as usual, before and after failed exports", async () => {
      const { app } = failing as OneProcess;
      const shop = await shopAt(app.url);
      /** An order and reads of it, as usual; the request id of an untraced read. */
      const requests = async () => {
        const product = await createProduct(shop);
        const traceparent = traceparentOf(randomTraceId(), randomSpanId());
        const { order } = await placeOrder(shop, product.id, traceparent);
        const read = await httpCall(app.url, "GET", `/orders/${order.id}`, { token: shop.customer });
        expect(read.status, read.text).toBe(200);
        const product200 = await httpCall(app.url, "GET", `/products/${product.id}`);
        expect(product200.status).toBe(200);
        return product200.headers.get("x-request-id") ?? "";
      };
      const first = await requests();
      // Tracing is on (a request without traceparent gets a trace id of its own in the log)...
      expect((await accessLine(app, first)).traceId).toMatch(/^[0-9a-f]{32}$/);
      // ...and once the batch holding those spans has failed to export (~5 s, then retried for
      // seconds), requests still answer, and promptly.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      const started = Date.now();
      await requests();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(app.process.exitCode).toBeNull();
      expect(app.process.signalCode).toBeNull();
      // The shutdown still ends within the platform's bound (docs/operations.md, "Shutdown").
      const { code, elapsedMs } = await app.stop("SIGTERM");
      expect(code).not.toBeNull();
      expect(elapsedMs).toBeLessThan(10_000);
      // The failed exports reached the log through the SDK's diagnostics (silent by default), not
      // only the stop's own line about the spans it dropped.
      const warnings = app
        .output()
        .split("\n")
        .filter(
          (line) =>
            line.startsWith("{") &&
            (JSON.parse(line) as { msg?: string }).msg?.startsWith("tracing:") &&
            !line.includes("spans dropped at stop"),
        );
      expect(warnings.length).toBeGreaterThanOrEqual(1);
    }, 60_000);

    // The exporter retries a refused connection; the stop waits at most 2 s for the last spans, so
    // the shutdown stays clean and within its deadline whatever the collector does.
    it("a SIGTERM while exports to an unreachable endpoint are failing exits 0, promptly", async () => {
      const [closedPort] = (await freePorts(1)) as [number];
      const platform = await startOneProcess({
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}`,
      });
      try {
        await createProduct(await shopAt(platform.app.url));
        await new Promise((resolve) => setTimeout(resolve, 6_000));
        const { code, elapsedMs } = await platform.app.stop("SIGTERM");
        expect(platform.app.output()).not.toContain("shutdown not finished");
        expect(code).toBe(0);
        expect(elapsedMs).toBeLessThan(5_000);
      } finally {
        await platform.stop();
      }
    }, 60_000);
  });
});
