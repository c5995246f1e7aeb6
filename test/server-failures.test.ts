/**
 * docs/api.md, "Limits", leaks: a failure of the server reaches the caller as its code and a fixed
 * message (never SQL, hosts or a stack) and is logged once, with its cause and the request id the
 * caller can quote, on REST, Connect and gRPC alike. The failure is real: a table the module reads
 * is renamed away under the running process, on the real PostgreSQL.
 */
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningApp, startApp } from "../src/app.js";
import {
  ListDiscountsRequestSchema,
  ListDiscountsResponseSchema,
} from "../src/gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { loadConfig } from "../src/platform/config.js";
import {
  createServiceDeployment,
  type ServiceDeployment,
  serviceUrls,
  testToken,
} from "./support/deployment.js";
import { grpcJsError, grpcJsUnary } from "./support/grpc-js-unary.js";

const services = !Array.isArray(serviceUrls());

interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  operation?: string;
  code?: string;
  err?: { message?: string; stack?: string };
}

describe.skipIf(!services)("server failures (services)", () => {
  let deployment: ServiceDeployment;
  let app: RunningApp;
  let baseUrl: string;
  let sql: postgres.Sql;
  let admin: string;
  const lines: LogLine[] = [];

  /** Log lines about failed requests (the ones reportFailure writes). */
  const failures = () => lines.filter((line) => line.msg.startsWith("request failed"));

  beforeAll(async () => {
    deployment = await createServiceDeployment();
    const config = loadConfig({
      ...deployment.env,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
    });
    const logger = pino(
      { level: "info" },
      { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
    );
    app = await startApp(config, logger);
    baseUrl = `http://127.0.0.1:${app.port}`;
    admin = await testToken("admin-1", "admin");
    sql = postgres(deployment.databaseUrl, { max: 1, onnotice: () => {} });
    await sql`alter table inventory.discounts rename to discounts_gone`;
  });
  afterAll(async () => {
    await sql?.end();
    await app?.stop();
    await deployment?.drop();
  });

  const expectNothingInternal = (text: string) => {
    expect(text).not.toMatch(
      /discounts_gone|discounts"|relation|select|postgres|127\.0\.0\.1|\bat \w+ \(|\.ts:\d+/i,
    );
  };

  it("REST: 500 problem+json saying nothing internal, logged once with its cause and request id", async () => {
    const response = await fetch(`${baseUrl}/discounts`, {
      headers: { authorization: `Bearer ${admin}`, "x-request-id": "req-rest-1" },
    });
    const text = await response.text();
    expect(response.status).toBe(500);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(text)).toMatchObject({ status: 500, code: "internal", detail: "internal error" });
    expect(response.headers.get("x-request-id")).toBe("req-rest-1");
    expectNothingInternal(text);
    const logged = failures().filter((line) => line.requestId === "req-rest-1");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      operation: "/ecommerce.inventory.v1.InventoryService/ListDiscounts",
      code: "Internal",
    });
    // The cause chain: drizzle's query error and PostgreSQL's own message.
    expect(JSON.stringify(logged[0]?.err)).toMatch(/discounts/);
  });

  it("REST without a request id: the response names the one the log line has", async () => {
    const response = await fetch(`${baseUrl}/discounts`, { headers: { authorization: `Bearer ${admin}` } });
    expect(response.status).toBe(500);
    const requestId = response.headers.get("x-request-id");
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(failures().filter((line) => line.requestId === requestId)).toHaveLength(1);
  });

  it("Connect: internal with a fixed message, logged once", async () => {
    const response = await fetch(`${baseUrl}/ecommerce.inventory.v1.InventoryService/ListDiscounts`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${admin}`,
        "x-request-id": "req-connect-1",
      },
      body: "{}",
    });
    const text = await response.text();
    expect(response.status).toBe(500);
    expect(JSON.parse(text)).toEqual({ code: "internal", message: "internal error" });
    expect(response.headers.get("x-request-id")).toBe("req-connect-1");
    expectNothingInternal(text);
    expect(failures().filter((line) => line.requestId === "req-connect-1")).toHaveLength(1);
  });

  it("gRPC: INTERNAL with a fixed message, logged once", async () => {
    const client = new grpc.Client(`127.0.0.1:${app.port}`, grpc.credentials.createInsecure());
    try {
      const error = await grpcJsError(
        grpcJsUnary(
          client,
          "/ecommerce.inventory.v1.InventoryService/ListDiscounts",
          { input: ListDiscountsRequestSchema, output: ListDiscountsResponseSchema },
          {},
          { authorization: `Bearer ${admin}`, "x-request-id": "req-grpc-1" },
        ),
      );
      expect(error.code).toBe(grpc.status.INTERNAL);
      expect(error.details).toBe("internal error");
    } finally {
      client.close();
    }
    expect(failures().filter((line) => line.requestId === "req-grpc-1")).toHaveLength(1);
  });

  it("a caller's mistake is not logged as a failure", async () => {
    const before = failures().length;
    const response = await fetch(`${baseUrl}/products/not-a-product`);
    expect(response.status).toBe(404);
    expect(failures()).toHaveLength(before);
  });
});
