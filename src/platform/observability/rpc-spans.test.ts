/**
 * The spans of a server stream (rpc-spans.ts) cover its whole life: they end when its messages
 * end, not when it starts, and carry the code it failed with. Recorded by a tracer of the test's
 * own, set as the active one, on both sides of an in-process call.
 */
import { ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import { type Attributes, type Span, type SpanStatus, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { afterEach, describe, expect, it } from "vitest";
import { OrderService } from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import { createInProcessTransport } from "../transport/in-process-transport.js";
import { traceInProcessCalls, traceRpcHandlers } from "./rpc-spans.js";
import { setActiveTracer } from "./tracing.js";

interface RecordedSpan {
  name: string;
  attributes: Attributes;
  status?: SpanStatus;
  startedAt: number;
  endedAt?: number;
}

/** A tracer that keeps what it was told; enough of the API for the RPC interceptors. */
function recordingTracer(): { tracer: Tracer; spans: RecordedSpan[] } {
  const spans: RecordedSpan[] = [];
  const tracer = {
    startSpan(name: string, options?: { attributes?: Attributes }) {
      const recorded: RecordedSpan = {
        name,
        attributes: { ...options?.attributes },
        startedAt: performance.now(),
      };
      spans.push(recorded);
      const span = {
        setAttribute(key: string, value: unknown) {
          recorded.attributes[key] = value as string;
          return span;
        },
        setStatus(status: SpanStatus) {
          recorded.status = status;
          return span;
        },
        end() {
          recorded.endedAt = performance.now();
        },
        spanContext: () => ({
          traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
          spanId: "00f067aa0ba902b7",
          traceFlags: 1,
        }),
        isRecording: () => true,
      };
      return span as unknown as Span;
    },
  };
  return { tracer: tracer as unknown as Tracer, spans };
}

/** WatchOrders: two messages 50 ms apart, or one then a plain Error with `x-outcome: explode`. */
function routes(router: ConnectRouter): void {
  router.service(OrderService, {
    async *watchOrders(_request, context) {
      yield {};
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (context.requestHeader.get("x-outcome") === "explode") throw new Error("the bus exploded");
      yield {};
    },
  });
}

describe("spans of a server stream", () => {
  afterEach(() => setActiveTracer(undefined));

  it("end with its messages, on both sides, with the code it failed with", async () => {
    const { tracer, spans } = recordingTracer();
    setActiveTracer(tracer);
    const client = createClient(
      OrderService,
      createInProcessTransport(routes, {
        interceptors: [traceInProcessCalls],
        serverInterceptors: [traceRpcHandlers],
      }),
    );
    for await (const _ of client.watchOrders({})) {
    }
    await expect(
      (async () => {
        for await (const _ of client.watchOrders({}, { headers: { "x-outcome": "explode" } })) {
        }
      })(),
    ).rejects.toBeInstanceOf(ConnectError);

    expect(spans.map((span) => span.name)).toEqual(
      Array(4).fill("ecommerce.orders.v1.OrderService/WatchOrders"),
    );
    for (const span of spans) {
      expect(span.endedAt, "ended").toBeDefined();
      expect((span.endedAt ?? 0) - span.startedAt).toBeGreaterThanOrEqual(45);
    }
    // The stream that failed: its client span and its server span name the code it ended with.
    const failed = spans.filter((span) => span.attributes["rpc.connect_rpc.error_code"] !== undefined);
    expect(failed).toHaveLength(2);
    for (const span of failed) expect(span.status?.code).toBe(SpanStatusCode.ERROR);
  });
});
