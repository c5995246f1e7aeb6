/**
 * Request ids end to end, through processes started as `npm start` starts them: every response
 * answers `x-request-id` (the caller's when sane, else a new uuid), every request leaves one
 * access-log line on its process's stdout, and a request's id goes along with the module calls it
 * causes, so the gateway's, the orders process's and the inventory process's lines of one order
 * share it. docs/operations.md, "Logs".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChildApp } from "./support/child-app.js";
import { serviceUrls, testToken } from "./support/deployment.js";
import { httpCall } from "./support/http-call.js";
import { type OrderJson, orderApi } from "./support/order-json.js";
import type { ProductJson } from "./support/product-json.js";
import { type TestApp, topologyTestApp } from "./support/test-app.js";
import {
  type OneProcess,
  type SplitTopology,
  startOneProcess,
  startSplitTopology,
} from "./support/topologies.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CREATE_ORDER = "/ecommerce.orders.v1.OrderService/CreateOrder";
const RESERVE_STOCK = "/ecommerce.inventory.v1.StockService/ReserveStock";

type LogLine = Record<string, unknown>;

/** A process's stdout as JSON lines, read by a 'data' listener of our own. */
interface Stdout {
  /** Every complete JSON line printed since the listener was attached (plain lines skipped). */
  lines(): LogLine[];
  /** Everything printed since then, as text. */
  text(): string;
  /** The access-log lines of `requestId`, once at least `count` are there (log lines are batched). */
  accessLines(requestId: string, count?: number): Promise<LogLine[]>;
}

function readStdout(child: ChildApp): Stdout {
  let text = "";
  let tail = "";
  const parsed: LogLine[] = [];
  child.process.stdout?.on("data", (chunk: Buffer) => {
    const received = chunk.toString("utf8");
    text += received;
    const lines = (tail + received).split("\n");
    tail = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      parsed.push(JSON.parse(line) as LogLine);
    }
  });
  const accessOf = (requestId: string) =>
    parsed.filter((line) => line.msg === "request" && line.requestId === requestId);
  return {
    lines: () => parsed,
    text: () => text,
    accessLines: async (requestId, count = 1) => {
      const deadline = Date.now() + 5_000;
      while (accessOf(requestId).length < count && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return accessOf(requestId);
    },
  };
}

/** An access-log line as the access log writes it: these fields, in this order. */
function expectAccessLine(line: LogLine | undefined, fields: Record<string, unknown>): void {
  expect(line).toMatchObject({ level: 30, msg: "request", ...fields });
  // A trace id only when the request came with a trace (none of these do, unless tracing is on).
  if (line?.traceId !== undefined) expect(line.traceId).toMatch(/^[0-9a-f]{32}$/);
  expect(Object.keys(line as LogLine).filter((key) => key !== "traceId")).toEqual([
    "level",
    "time",
    "method",
    "route",
    "status",
    "durationMs",
    "requestId",
    "msg",
  ]);
  expect(line?.durationMs).toBeTypeOf("number");
  expect(line?.durationMs as number).toBeGreaterThanOrEqual(0);
  expect(Date.parse(line?.time as string)).toBeGreaterThan(Date.now() - 120_000);
}

describe.skipIf(Array.isArray(serviceUrls()))("request ids end to end", () => {
  let single: OneProcess | undefined;
  let split: SplitTopology | undefined;

  // Both set-ups start at once: starting processes is most of this file's time.
  beforeAll(async () => {
    const [one, four] = await Promise.allSettled([
      startOneProcess({ LOG_LEVEL: "info" }),
      startSplitTopology({ LOG_LEVEL: "info" }),
    ]);
    if (one.status === "fulfilled") single = one.value;
    if (four.status === "fulfilled") split = four.value;
    for (const result of [one, four]) if (result.status === "rejected") throw result.reason;
  }, 90_000);
  afterAll(async () => {
    await Promise.all([single?.stop(), split?.stop()]);
  });

  describe("one process hosting every module", () => {
    let child: ChildApp;
    let stdout: Stdout;
    let adminToken: string;
    let customerToken: string;
    let product: ProductJson;

    const call = (method: string, path: string, options?: Parameters<typeof httpCall>[3]) =>
      httpCall(child.url, method, path, options);

    beforeAll(async () => {
      child = (single as OneProcess).app;
      stdout = readStdout(child);
      adminToken = await testToken("admin-request-ids", "admin");
      customerToken = await testToken("customer-request-ids", "customer");
      const created = await call("POST", "/products", {
        token: adminToken,
        json: { name: "Request-id kettle", price_cents: 2_500, stock: 50 },
        headers: { "x-request-id": "e2e-create-1" },
      });
      expect(created.status, created.text).toBe(201);
      expect(created.headers.get("x-request-id")).toBe("e2e-create-1");
      product = created.body as ProductJson;
    });

    it("answers the caller's x-request-id and logs the read under it, with the route template", async () => {
      const response = await call("GET", `/products/${product.id}`, {
        headers: { "x-request-id": "e2e-read-1" },
      });
      expect(response.status, response.text).toBe(200);
      expect((response.body as ProductJson).id).toBe(product.id);
      expect(response.headers.get("x-request-id")).toBe("e2e-read-1");

      const lines = await stdout.accessLines("e2e-read-1");
      expect(lines).toHaveLength(1);
      expectAccessLine(lines[0], {
        method: "GET",
        route: "/products/:id",
        status: 200,
        requestId: "e2e-read-1",
      });
      // The route template, never the raw path.
      expect(stdout.text()).not.toContain(`"/products/${product.id}"`);
    });

    it("answers x-request-id on every kind of REST answer: refusals, 404s, problems, probes, docs", async () => {
      const answers = [
        await call("POST", "/products", {
          headers: { "x-request-id": "e2e-kind-413" },
          rawBody: "x".repeat(2 * 1024 * 1024),
        }),
        await call("GET", "/no-such-route", { headers: { "x-request-id": "e2e-kind-404" } }),
        await call("POST", "/products", {
          headers: { "x-request-id": "e2e-kind-invalid" },
          json: {},
        }),
        await call("GET", "/healthz", { headers: { "x-request-id": "e2e-kind-healthz" } }),
        await call("GET", "/openapi.json", { headers: { "x-request-id": "e2e-kind-openapi" } }),
        await call("GET", "/products/%ff", { headers: { "x-request-id": "e2e-kind-400" } }),
      ];
      expect(answers.map((answer) => answer.status)).toEqual([413, 404, 400, 200, 200, 400]);
      expect(answers.map((answer) => answer.headers.get("x-request-id"))).toEqual([
        "e2e-kind-413",
        "e2e-kind-404",
        "e2e-kind-invalid",
        "e2e-kind-healthz",
        "e2e-kind-openapi",
        "e2e-kind-400",
      ]);
    });

    it("logs the trace id of a request that comes with a W3C traceparent", async () => {
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      const response = await call("GET", `/products/${product.id}`, {
        headers: { "x-request-id": "e2e-traced-1", traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      expect(response.status).toBe(200);
      const lines = await stdout.accessLines("e2e-traced-1");
      expect(lines).toEqual([
        expect.objectContaining({ route: "/products/:id", status: 200, requestId: "e2e-traced-1", traceId }),
      ]);
    });

    it("gives a request without x-request-id a new uuid, answered and logged", async () => {
      const response = await call("GET", `/products/${product.id}`);
      expect(response.status).toBe(200);
      const id = response.headers.get("x-request-id");
      expect(id).toMatch(UUID);
      const lines = await stdout.accessLines(id as string);
      expect(lines).toHaveLength(1);
      expectAccessLine(lines[0], { method: "GET", route: "/products/:id", status: 200, requestId: id });
    });

    it("replaces an insane x-request-id with a new uuid, and never logs the insane one", async () => {
      const insane = "e2e insane 1";
      const response = await call("GET", "/products/no-such-product", {
        headers: { "x-request-id": insane },
      });
      expect(response.status).toBe(404);
      const id = response.headers.get("x-request-id");
      expect(id).toMatch(UUID);
      const lines = await stdout.accessLines(id as string);
      expect(lines).toHaveLength(1);
      expectAccessLine(lines[0], { method: "GET", route: "/products/:id", status: 404, requestId: id });
      expect(stdout.text()).not.toContain(insane);
    });

    it("logs an order, whose module calls stay in the process, as one line; no line holds a bearer token", async () => {
      const order = await call("POST", "/orders", {
        token: customerToken,
        json: { items: [{ product_id: product.id, quantity: 2 }] },
        headers: { "x-request-id": "e2e-local-order-1" },
      });
      expect(order.status, order.text).toBe(201);
      expect(order.headers.get("x-request-id")).toBe("e2e-local-order-1");
      const lines = await stdout.accessLines("e2e-local-order-1");
      expect(lines).toHaveLength(1);
      expectAccessLine(lines[0], {
        method: "POST",
        route: "/orders",
        status: 201,
        requestId: "e2e-local-order-1",
      });

      // Everything logged so far, the product's creation included, is on stdout by now.
      const createdLines = await stdout.accessLines("e2e-create-1");
      expect(createdLines).toEqual([
        expect.objectContaining({ method: "POST", route: "/products", status: 201 }),
      ]);
      for (const token of [adminToken, customerToken]) {
        expect(stdout.text()).not.toContain(token);
        // Not even the signature alone.
        expect(stdout.text()).not.toContain(token.split(".")[2]);
      }
    });
  });

  describe("split into four processes (gateway, inventory, orders, statistics)", () => {
    let app: TestApp;
    let stdout: Record<"gateway" | "orders" | "inventory" | "statistics", Stdout>;
    let product: ProductJson;
    const api = orderApi(() => app);

    beforeAll(async () => {
      const topology = split as SplitTopology;
      // Its stop is the file's afterAll: this app is only the topology's front door and tokens.
      app = await topologyTestApp(topology);
      const { gateway, orders, inventory, statistics } = topology.processes;
      stdout = {
        gateway: readStdout(gateway),
        orders: readStdout(orders),
        inventory: readStdout(inventory),
        statistics: readStdout(statistics),
      };
      product = await api.createProduct({ price_cents: 1_200, stock: 100 });
    });

    it("one order's id is in the gateway's, the orders process's and the inventory process's lines", async () => {
      const customer = await api.newCustomer("request-ids");
      const result = await api.postOrder(
        customer.token,
        { items: [{ product_id: product.id, quantity: 3 }] },
        { "x-request-id": "e2e-order-1" },
      );
      expect(result.status, result.text).toBe(201);
      expect(result.headers.get("x-request-id")).toBe("e2e-order-1");
      expect((result.body as OrderJson).items[0]?.quantity).toBe(3);

      const [gateway, orders, inventory] = await Promise.all([
        stdout.gateway.accessLines("e2e-order-1"),
        stdout.orders.accessLines("e2e-order-1"),
        stdout.inventory.accessLines("e2e-order-1"),
      ]);
      expect(gateway).toHaveLength(1);
      expectAccessLine(gateway[0], {
        method: "POST",
        route: "/orders",
        status: 201,
        requestId: "e2e-order-1",
      });
      expect(orders).toHaveLength(1);
      expectAccessLine(orders[0], {
        method: "POST",
        route: CREATE_ORDER,
        status: 200,
        requestId: "e2e-order-1",
      });
      expect(inventory.map((line) => line.route)).toContain(RESERVE_STOCK);
      expectAccessLine(
        inventory.find((line) => line.route === RESERVE_STOCK),
        { method: "POST", route: RESERVE_STOCK, status: 200, requestId: "e2e-order-1" },
      );
      // Statistics hears of the order by event, not by a call: it served no request with this id.
      expect(
        stdout.statistics
          .lines()
          .filter((line) => line.msg === "request" && line.requestId === "e2e-order-1"),
      ).toEqual([]);

      for (const process of Object.values(stdout)) expect(process.text()).not.toContain(customer.token);
    });

    it("an id the gateway made up for a request without one goes along to the modules too", async () => {
      const customer = await api.newCustomer("request-ids");
      const result = await api.postOrder(customer.token, {
        items: [{ product_id: product.id, quantity: 1 }],
      });
      expect(result.status, result.text).toBe(201);
      const id = result.headers.get("x-request-id") as string;
      expect(id).toMatch(UUID);
      const [gateway, orders, inventory] = await Promise.all([
        stdout.gateway.accessLines(id),
        stdout.orders.accessLines(id),
        stdout.inventory.accessLines(id),
      ]);
      expect(gateway.map((line) => line.route)).toEqual(["/orders"]);
      expect(orders.map((line) => line.route)).toEqual([CREATE_ORDER]);
      expect(inventory.map((line) => line.route)).toContain(RESERVE_STOCK);
    });
  });
});
