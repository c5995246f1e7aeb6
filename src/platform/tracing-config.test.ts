import { describe, expect, it } from "vitest";
import { configRefusal } from "../../test/support/config-refusal.js";
import { loadConfig } from "./config.js";

function tracing(env: Record<string, string>) {
  return loadConfig(env).tracing;
}

describe("tracing configuration from the OTEL_* variables", () => {
  it("is off without an OTLP endpoint", () => {
    expect(tracing({})).toBeUndefined();
    expect(tracing({ OTEL_SERVICE_NAME: "shop", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })).toBeUndefined();
  });

  it("appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT and takes the traces endpoint as it is", () => {
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })?.endpoint).toBe(
      "http://collector:4318/v1/traces",
    );
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })?.endpoint).toBe(
      "http://collector:4318/v1/traces",
    );
    expect(
      tracing({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example.com/custom/path",
      })?.endpoint,
    ).toBe("https://traces.example.com/custom/path");
  });

  it("defaults to http/protobuf, a parent-based always-on sampler and a service name per process", () => {
    const config = tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" });
    expect(config).toMatchObject({
      protocol: "http/protobuf",
      sampler: { kind: "parentbased_always_on" },
      serviceName: "ecommerce",
      headers: {},
    });
    const split = {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
      DATABASE_URL: "postgres://db/shop",
      NATS_URL: "nats://nats:4222",
      INVENTORY_URL: "http://inventory:7001",
    };
    expect(tracing({ ...split, MODULES: "orders" })?.serviceName).toBe("ecommerce-orders");
    expect(tracing({ ...split, MODULES: "orders", OTEL_SERVICE_NAME: "checkout" })?.serviceName).toBe(
      "checkout",
    );
  });

  it("reads the protocol, headers, resource attributes and sampler, traces-specific variables first", () => {
    const config = tracing({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_HEADERS: "x-ignored=1",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "api-key=a%20b%3Dc,tenant=shop",
      OTEL_RESOURCE_ATTRIBUTES: "service.namespace=shop,deployment.environment.name=staging",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
    });
    expect(config).toMatchObject({
      protocol: "http/json",
      headers: { "api-key": "a b=c", tenant: "shop" },
      resourceAttributes: { "service.namespace": "shop", "deployment.environment.name": "staging" },
      sampler: { kind: "parentbased_traceidratio", ratio: 0.25 },
    });
    expect(config?.headers).not.toHaveProperty("x-ignored");
  });

  it("is off when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, endpoint or not", () => {
    expect(
      tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" }),
    ).toBeUndefined();
    expect(
      tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" }),
    ).toBeUndefined();
  });

  it.each([
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      "OTEL_EXPORTER_OTLP_PROTOCOL",
    ],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, "OTEL_EXPORTER_OTLP_ENDPOINT"],
    [{ OTEL_TRACES_SAMPLER: "sometimes" }, "OTEL_TRACES_SAMPLER"],
    [{ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "1.5" }, "OTEL_TRACES_SAMPLER_ARG"],
    [{ OTEL_TRACES_EXPORTER: "zipkin" }, "OTEL_TRACES_EXPORTER"],
    [{ OTEL_EXPORTER_OTLP_HEADERS: "no-equals-sign" }, "OTEL_EXPORTER_OTLP_HEADERS"],
    [{ OTEL_RESOURCE_ATTRIBUTES: "bad=%E0%A4%A" }, "OTEL_RESOURCE_ATTRIBUTES"],
  ])("refuses %j naming %s", (env, variable) => {
    expect(configRefusal(env).variable).toBe(variable);
  });

  it("never repeats a header's value in an error", () => {
    expect(configRefusal({ OTEL_EXPORTER_OTLP_HEADERS: "api-key=%E0%A4%A-secret" }).message).not.toContain(
      "secret",
    );
    expect(configRefusal({ OTEL_EXPORTER_OTLP_HEADERS: "secret-without-key" }).message).not.toContain(
      "secret",
    );
  });
});
