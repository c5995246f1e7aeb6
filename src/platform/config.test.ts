import { describe, expect, it } from "vitest";
import { configRefusal } from "../../test/support/config-refusal.js";
import { loadConfig } from "./config.js";

const split = { NATS_URL: "nats://127.0.0.1:4222", DATABASE_URL: "postgres://x@127.0.0.1/db" };

describe("loadConfig accepting a configuration", () => {
  it("defaults to every module in one process with embedded dependencies", () => {
    const config = loadConfig({});
    expect([...config.modules].sort()).toEqual(["gateway", "inventory", "orders", "statistics"]);
    expect(config).toMatchObject({
      port: 8080,
      host: "0.0.0.0",
      namespace: "ecommerce",
      reservationTimeoutMs: 60_000,
      databasePoolSize: 5,
      maxBodyBytes: 1_048_576,
      rpcTimeoutMs: 10_000,
      pendingOrderTtlMs: 1_800_000,
      maxPendingOrders: 20,
      logLevel: "info",
      logFormat: "json",
      corsOrigins: [],
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.natsUrl).toBeUndefined();
  });

  it("reads CORS_ORIGINS as exact origins, or *, and refuses anything else naming the variable", () => {
    expect(loadConfig({ CORS_ORIGINS: "https://shop.example, http://localhost:5173" }).corsOrigins).toEqual([
      "https://shop.example",
      "http://localhost:5173",
    ]);
    expect(loadConfig({ CORS_ORIGINS: "*" }).corsOrigins).toEqual(["*"]);
    for (const bad of [
      "shop.example",
      "https://shop.example/",
      "https://shop.example/admin",
      "ftp://x.example",
    ]) {
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(/^CORS_ORIGINS: /);
    }
  });

  it("reads LOG_FORMAT", () => {
    expect(loadConfig({ LOG_FORMAT: "pretty" }).logFormat).toBe("pretty");
  });

  it("accepts a JWT_SECRET of 32 bytes, counted in bytes rather than characters", () => {
    expect(loadConfig({ JWT_SECRET: "x".repeat(32) }).jwtSecret).toBe("x".repeat(32));
    // 16 characters, 32 bytes in UTF-8.
    expect(loadConfig({ JWT_SECRET: "é".repeat(16) }).jwtSecret).toBe("é".repeat(16));
  });

  it("accepts the split example of docs/api.md", () => {
    expect(() => loadConfig({ ...split, MODULES: "inventory", PORT: "7001" })).not.toThrow();
    expect(() =>
      loadConfig({ ...split, MODULES: "orders", PORT: "7002", INVENTORY_URL: "http://127.0.0.1:7001" }),
    ).not.toThrow();
    expect(() => loadConfig({ ...split, MODULES: "statistics", PORT: "7003" })).not.toThrow();
    expect(() =>
      loadConfig({
        ...split,
        MODULES: "gateway",
        INVENTORY_URL: "http://127.0.0.1:7001",
        ORDERS_URL: "http://127.0.0.1:7002",
        STATISTICS_URL: "http://127.0.0.1:7003",
      }),
    ).not.toThrow();
  });
});

describe("loadConfig refusing a configuration", () => {
  it.each([
    [{ PORT: "eighty" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ MODULES: "inventory,billing" }, "MODULES"],
    [{ NAMESPACE: "a b" }, "NAMESPACE"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ NATS_URL: "not a url" }, "NATS_URL"],
    [{ CACHE_REFRESH_CRON: "every noon" }, "CACHE_REFRESH_CRON"],
    [{ JWT_SECRET: "short" }, "JWT_SECRET"],
    [{ JWT_SECRET: "x".repeat(31) }, "JWT_SECRET"],
    [{ MAX_BODY_BYTES: "1kb" }, "MAX_BODY_BYTES"],
    [{ RPC_TIMEOUT_MS: "0" }, "RPC_TIMEOUT_MS"],
    [{ PENDING_ORDER_TTL_SECONDS: "-5" }, "PENDING_ORDER_TTL_SECONDS"],
    [{ MAX_PENDING_ORDERS: "0" }, "MAX_PENDING_ORDERS"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ LOG_FORMAT: "xml" }, "LOG_FORMAT"],
    [{ RESERVATION_TIMEOUT_SECONDS: "0" }, "RESERVATION_TIMEOUT_SECONDS"],
    [{ DATABASE_POOL_SIZE: "0" }, "DATABASE_POOL_SIZE"],
    [{ DATABASE_POOL_SIZE: "ten" }, "DATABASE_POOL_SIZE"],
  ])("refuses %j naming %s", (env, variable) => {
    expect(configRefusal(env).variable).toBe(variable);
  });

  it("never repeats the credentials of a URL it refuses", () => {
    const refused: Record<string, string>[] = [
      { NATS_URL: "ftp://alice:s3cret@nats:4222" },
      { DATABASE_URL: "mysql://app:s3cret@db/shop" },
    ];
    for (const env of refused) {
      const { message } = configRefusal(env);
      expect(message).not.toContain("s3cret");
      expect(message).not.toContain("alice");
    }
  });

  it("refuses a needed module that is neither hosted nor given a URL", () => {
    expect(configRefusal({ ...split, MODULES: "orders" })).toMatchObject({ variable: "INVENTORY_URL" });
    expect(
      configRefusal({ ...split, MODULES: "gateway", INVENTORY_URL: "http://a", ORDERS_URL: "http://b" }),
    ).toMatchObject({
      variable: "STATISTICS_URL",
    });
  });

  it("refuses a split without NATS or PostgreSQL, and a URL for a module hosted here", () => {
    expect(configRefusal({ DATABASE_URL: split.DATABASE_URL, MODULES: "inventory" }).variable).toBe(
      "NATS_URL",
    );
    expect(configRefusal({ NATS_URL: split.NATS_URL, MODULES: "inventory" }).variable).toBe("DATABASE_URL");
    expect(configRefusal({ INVENTORY_URL: "http://127.0.0.1:7001" }).variable).toBe("INVENTORY_URL");
  });
});
