/**
 * examples/: the TypeScript Connect client (generated code) and the `buf curl` calls of
 * examples/README.md, run against a started platform, as a user would run them.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runChildToExit } from "./support/child-app.js";
import { startTestApp, type TestApp } from "./support/test-app.js";

const run = promisify(execFile);
let app: TestApp;
let customerToken: string;

beforeAll(async () => {
  app = await startTestApp("embedded");
  customerToken = await app.token("example-customer", "customer");
});
afterAll(() => app?.stop());

describe("examples", () => {
  it("connect-client.ts creates a product, orders it and reads the customer's statistics", async () => {
    const { code, stdout, stderr } = await runChildToExit(
      { ADMIN_TOKEN: app.adminToken, CUSTOMER_TOKEN: customerToken },
      "examples/connect-client.ts",
      [app.baseUrl],
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/created product \S+: Example teapot, 3450 cents, stock 10/);
    expect(stdout).toMatch(/placed order \S+ for example-customer: PENDING, total 6900 cents/);
    expect(stdout).toContain("statistics of example-customer: 1 order(s), 6900 cents spent");
  }, 60_000);

  it("the buf curl calls of examples/README.md answer over Connect, gRPC and gRPC-Web", async () => {
    const curl = async (args: string[]) =>
      JSON.parse((await run("npx", ["buf", "curl", "--schema", "proto", ...args])).stdout) as Record<
        string,
        unknown
      >;
    const created = await curl([
      "-H",
      `authorization: Bearer ${app.adminToken}`,
      "--data",
      '{"name":"Mug","priceCents":"900","stock":4,"category":"kitchen"}',
      `${app.baseUrl}/ecommerce.inventory.v1.InventoryService/CreateProduct`,
    ]);
    expect(created.product).toMatchObject({ name: "Mug", priceCents: "900", stock: 4 });
    const listed = await curl([
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--data",
      '{"category":"kitchen"}',
      `${app.baseUrl}/ecommerce.inventory.v1.InventoryService/ListProducts`,
    ]);
    expect((listed.products as { name: string }[]).map((product) => product.name)).toContain("Mug");
    const stats = await curl([
      "--protocol",
      "grpcweb",
      "-H",
      `authorization: Bearer ${customerToken}`,
      "--data",
      '{"userId":"example-customer"}',
      `${app.baseUrl}/ecommerce.statistics.v1.StatisticsService/GetUserOrderStatistics`,
    ]);
    expect(stats.userId).toBe("example-customer");
  }, 60_000);
});
