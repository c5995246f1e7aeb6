/**
 * Tracing settings, read from the standard OpenTelemetry variables
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/). Tracing is
 * on when an OTLP endpoint is set — `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as it is) or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (with `/v1/traces` appended) — unless `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none`. Export is OTLP over HTTP, `http/protobuf` (default) or `http/json`.
 * docs/operations.md, "Tracing".
 */
import { ConfigError, type EnvironmentReader, type ModuleName } from "./config.js";

export type OtlpProtocol = "http/protobuf" | "http/json";

export type TraceSampler =
  | { kind: "always_on" | "always_off" | "parentbased_always_on" | "parentbased_always_off" }
  | { kind: "traceidratio" | "parentbased_traceidratio"; ratio: number };

export interface TracingConfig {
  /** Where spans are sent: the full URL of the traces endpoint. */
  readonly endpoint: string;
  readonly protocol: OtlpProtocol;
  /** Sent with every export (e.g. an API key): OTEL_EXPORTER_OTLP_[TRACES_]HEADERS. */
  readonly headers: Readonly<Record<string, string>>;
  /** `service.name`: OTEL_SERVICE_NAME, else "ecommerce" or "ecommerce-<modules>" for a split process. */
  readonly serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES (service.namespace, deployment.environment.name, …). */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: TraceSampler;
}

const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

/** The tracing settings, or undefined when tracing is off. */
export function readTracingConfig(
  read: EnvironmentReader,
  modules: ReadonlySet<ModuleName>,
): TracingConfig | undefined {
  const disabled = read.matching("OTEL_SDK_DISABLED", "false", /^(true|false)$/i, 'is not "true" or "false"');
  const exporter = read.matching("OTEL_TRACES_EXPORTER", "otlp", /^(otlp|none)$/, 'is not "otlp" or "none"');
  const tracesEndpoint = read.url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ["http:", "https:"]);
  const baseEndpoint = read.url("OTEL_EXPORTER_OTLP_ENDPOINT", ["http:", "https:"]);
  const protocol = (
    read.text("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") === undefined
      ? read.matching(
          "OTEL_EXPORTER_OTLP_PROTOCOL",
          "http/protobuf",
          /^http\/(protobuf|json)$/,
          UNSUPPORTED_PROTOCOL,
        )
      : read.matching(
          "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
          "http/protobuf",
          /^http\/(protobuf|json)$/,
          UNSUPPORTED_PROTOCOL,
        )
  ) as OtlpProtocol;
  const headers = keyValuePairs(
    read,
    read.text("OTEL_EXPORTER_OTLP_TRACES_HEADERS") === undefined
      ? "OTEL_EXPORTER_OTLP_HEADERS"
      : "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
  );
  const resourceAttributes = keyValuePairs(read, "OTEL_RESOURCE_ATTRIBUTES");
  const sampler = readSampler(read);
  const endpoint =
    tracesEndpoint ??
    (baseEndpoint === undefined ? undefined : `${baseEndpoint.replace(/\/+$/, "")}/v1/traces`);
  if (disabled.toLowerCase() === "true" || exporter === "none" || endpoint === undefined) return undefined;
  return {
    endpoint,
    protocol,
    headers,
    serviceName:
      read.text("OTEL_SERVICE_NAME") ?? resourceAttributes["service.name"] ?? defaultServiceName(modules),
    resourceAttributes,
    sampler,
  };
}

const UNSUPPORTED_PROTOCOL =
  'is not supported: use "http/protobuf" or "http/json" (OTLP over gRPC is not built in)';

/** "ecommerce" for the whole platform in one process, "ecommerce-orders" for a process of one module. */
function defaultServiceName(modules: ReadonlySet<ModuleName>): string {
  const all = ["gateway", "inventory", "orders", "statistics"].every((name) =>
    modules.has(name as ModuleName),
  );
  return all ? "ecommerce" : `ecommerce-${[...modules].sort().join("-")}`;
}

function readSampler(read: EnvironmentReader): TraceSampler {
  const kind = read.checked(
    "OTEL_TRACES_SAMPLER",
    "parentbased_always_on",
    (value) => (SAMPLERS as readonly string[]).includes(value),
    `is not one of ${SAMPLERS.join(", ")}`,
  ) as (typeof SAMPLERS)[number];
  if (kind !== "traceidratio" && kind !== "parentbased_traceidratio") return { kind };
  const text = read.checked(
    "OTEL_TRACES_SAMPLER_ARG",
    "1",
    (value) => /^(0|1|0?\.\d+|1\.0*)$/.test(value),
    "must be a ratio between 0 and 1",
  );
  return { kind, ratio: Number(text) };
}

/** `key1=value1,key2=value2` with percent-encoded values, as the OTEL_* list variables are written. */
function keyValuePairs(read: EnvironmentReader, name: string): Record<string, string> {
  const text = read.text(name);
  const pairs: Record<string, string> = {};
  if (text === undefined) return pairs;
  for (const item of text.split(",")) {
    const equals = item.indexOf("=");
    const key = item.slice(0, equals).trim();
    // The values are not repeated in errors: headers hold API keys.
    if (equals <= 0 || key === "")
      throw new ConfigError(name, "every entry must be key=value, comma-separated");
    try {
      pairs[key] = decodeURIComponent(item.slice(equals + 1).trim());
    } catch {
      throw new ConfigError(name, `the value of "${key}" is not percent-encoded correctly`);
    }
  }
  return pairs;
}
