/**
 * Work done once for several requests is a trace of its own, linked to each request's span, and
 * not a part of whichever request's trace started it; with tracing off it just runs. Recorded by
 * the SDK's tracer with an in-memory exporter, set as the active one.
 */
import { context, SpanKind, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setActiveTracer } from "./tracing.js";
import { inRequestsTrace, thisRequestsTrace, workForMany } from "./work-for-many.js";

describe("work done for several requests", () => {
  const exporter = new InMemorySpanExporter();
  const contextManager = new AsyncLocalStorageContextManager();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer("test");

  beforeEach(() => {
    context.setGlobalContextManager(contextManager.enable());
    setActiveTracer(tracer);
  });
  afterEach(() => {
    setActiveTracer(undefined);
    context.disable();
    exporter.reset();
  });

  /** Runs `fn` inside a request span of its own; returns that span's ids. */
  const inRequest = async <T>(name: string, fn: () => Promise<T>) => {
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER });
    const result = await context.with(trace.setSpan(context.active(), span), fn);
    span.end();
    return { result, ids: span.spanContext() };
  };

  it("is a trace of its own whose span links to each request it serves", async () => {
    const links = await Promise.all(
      ["order a", "order b"].map((name) => inRequest(name, async () => thisRequestsTrace())),
    );
    // Started from inside a third request, as a batcher's loop is.
    const { ids: starter } = await inRequest("order c", () =>
      workForMany(
        "reserve stock for several orders",
        links.map(({ result }) => result),
        async () => tracer.startActiveSpan("call", (span) => span.end()),
      ),
    );

    const spans = exporter.getFinishedSpans();
    const batch = spans.find((span) => span.name === "reserve stock for several orders");
    const call = spans.find((span) => span.name === "call");
    expect(batch).toBeDefined();
    expect(batch?.parentSpanContext).toBeUndefined();
    expect(batch?.spanContext().traceId).not.toBe(starter.traceId);
    expect(batch?.links.map((link) => link.context.spanId).sort()).toEqual(
      links.map(({ ids }) => ids.spanId).sort(),
    );
    expect(batch?.attributes["batch.size"]).toBe(2);
    // What the work does is under the batch's span, in its trace.
    expect(call?.parentSpanContext?.spanId).toBe(batch?.spanContext().spanId);
    expect(call?.spanContext().traceId).toBe(batch?.spanContext().traceId);
  });

  it("runs work done later for one request alone in that request's trace, wherever it is sent from", async () => {
    const { result: captured, ids: request } = await inRequest("order a", async () => thisRequestsTrace());
    // Sent from inside another request, as a batcher's loop sends a lone item.
    await inRequest("order b", async () =>
      inRequestsTrace(captured, () => tracer.startActiveSpan("call", (span) => span.end())),
    );
    const call = exporter.getFinishedSpans().find((span) => span.name === "call");
    expect(call?.spanContext().traceId).toBe(request.traceId);
    expect(call?.parentSpanContext?.spanId).toBe(request.spanId);
  });

  it("marks its span failed when the work fails, and passes the failure on", async () => {
    await expect(
      workForMany("failing", [undefined], async () => {
        throw new Error("inventory unreachable");
      }),
    ).rejects.toThrow("inventory unreachable");
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toMatchObject({ code: 2, message: "inventory unreachable" });
  });

  it("makes nothing when tracing is off: no link, and the work just runs", async () => {
    setActiveTracer(undefined);
    const link = await inRequest("order", async () => thisRequestsTrace());
    expect(link.result).toBeUndefined();
    expect(await workForMany("batch", [undefined], async () => 42)).toBe(42);
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(["order"]);
  });
});
