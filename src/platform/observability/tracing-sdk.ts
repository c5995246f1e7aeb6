/**
 * Starting OpenTelemetry tracing (tracing-config.ts says when): SDK 3's TracerProvider with a
 * batching processor and an OTLP/HTTP exporter (protobuf or JSON), and an AsyncLocalStorage context
 * manager so that the trace context follows async work — which costs every promise a hook on
 * Node 20, so only then. Imported dynamically, when tracing starts: a process without tracing
 * never loads the SDK. docs/operations.md, "Tracing".
 */
import { context, DiagLogLevel, diag } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter as OtlpJsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OtlpProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import type { Logger } from "../logger.js";
import { rateLimitedWarn } from "../rate-limited-log.js";
import type { TraceSampler, TracingConfig } from "../tracing-config.js";
import { withTimeout } from "../with-timeout.js";
import { setActiveTracer } from "./tracing.js";

const INSTRUMENTATION_NAME = "ecommerce";
/** How long one export (its retries included) may take before its spans are dropped. */
const EXPORT_TIMEOUT_MS = 5_000;
/**
 * How long a stop waits for the last spans to be exported: a collector that is down must not
 * hold the shutdown past its deadline (docs/operations.md, "Shutdown").
 */
const FINAL_EXPORT_MS = 2_000;

export interface Tracing {
  /** Exports the spans still buffered, then stops exporting. */
  stop(): Promise<void>;
}

/**
 * Starts tracing for this process. Once per process: the context manager is an OpenTelemetry
 * global.
 */
export function startTracing(config: TracingConfig, logger: Logger): Tracing {
  const Exporter = config.protocol === "http/json" ? OtlpJsonExporter : OtlpProtobufExporter;
  const exporter = new Exporter({
    url: config.endpoint,
    headers: { ...config.headers },
    timeoutMillis: EXPORT_TIMEOUT_MS,
  });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      ...config.resourceAttributes,
      "service.name": config.serviceName,
    }),
    sampler: samplerOf(config.sampler),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  // The SDK reports failed exports through its diagnostics logger: to ours, at most one a minute.
  const warn = rateLimitedWarn(logger, 60_000);
  diag.setLogger(
    {
      error: (message) => warn({ endpoint: config.endpoint }, `tracing: ${message}`),
      warn: (message) => warn({ endpoint: config.endpoint }, `tracing: ${message}`),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  setActiveTracer(provider.getTracer(INSTRUMENTATION_NAME));
  return {
    stop: async () => {
      setActiveTracer(undefined);
      await withTimeout(
        provider.shutdown(),
        FINAL_EXPORT_MS,
        () =>
          new Error(`the last spans were not exported within ${FINAL_EXPORT_MS} ms (collector unreachable?)`),
      ).catch((error: unknown) =>
        logger.warn({ err: error, endpoint: config.endpoint }, "tracing: spans dropped at stop"),
      );
    },
  };
}

function samplerOf(config: TraceSampler): Sampler {
  switch (config.kind) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(config.ratio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.ratio) });
  }
}
