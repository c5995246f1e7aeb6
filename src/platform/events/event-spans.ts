/**
 * Spans of an event's life, as the OpenTelemetry messaging conventions name them
 * (`messaging.system` = `nats`): `create <subject>` when a module writes it into its outbox (inside
 * the request's trace; its `traceparent` is stored in the outbox row), `publish <subject>` when
 * the relay sends it (continuing the stored context, whenever that happens; its `traceparent`
 * travels in the message's headers), and `process <subject>` around a subscriber's handler
 * (continuing the message's context; a batch handler's span links every event of its batch).
 * So the statistics projection of an order is part of the order's trace. All of it only while
 * tracing is on (docs/operations.md, "Tracing").
 */
import {
  type Attributes,
  type Context,
  type Link,
  ROOT_CONTEXT,
  SpanKind,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { endedWith } from "../observability/span-end.js";
import { activeTracer, context, contextFromTraceparent, traceparentOf } from "../observability/tracing.js";
import type { DeliveredEvent, PublishedEvent, SubscribeOptions } from "./event-bus.js";

function attributes(subject: string, operation: "create" | "send" | "process", id?: string): Attributes {
  return {
    "messaging.system": "nats",
    "messaging.operation.type": operation,
    "messaging.destination.name": subject,
    ...(id === undefined ? {} : { "messaging.message.id": id }),
  };
}

/** Records that the event `id` was created (written to an outbox); its trace context, to store with it. */
export function eventCreated(id: string, subject: string): string | undefined {
  const tracer = activeTracer();
  if (tracer === undefined) return undefined;
  const parent = context.active();
  const span = tracer.startSpan(
    `create ${subject}`,
    { kind: SpanKind.PRODUCER, attributes: attributes(subject, "create", id) },
    parent,
  );
  span.end();
  return traceparentOf(trace.setSpan(parent, span));
}

/**
 * `publish(event)` inside a `publish <subject>` span that continues the event's stored trace
 * context; the event goes out with the span's own context in `traceContext`.
 */
export async function publishTraced(
  event: PublishedEvent,
  publish: (event: PublishedEvent) => Promise<void>,
): Promise<void> {
  const tracer = activeTracer();
  if (tracer === undefined) return publish(event);
  const parent = contextFromTraceparent(event.traceContext, ROOT_CONTEXT);
  const span = tracer.startSpan(
    `publish ${event.subject}`,
    { kind: SpanKind.PRODUCER, attributes: attributes(event.subject, "send", event.id) },
    parent,
  );
  const active = trace.setSpan(parent, span);
  return endedWith(
    span,
    context.with(active, () => publish({ ...event, traceContext: traceparentOf(active) })),
  );
}

/** `options` with its handlers run inside `process <subject>` spans, while tracing is on. */
export function tracedSubscription(options: SubscribeOptions): SubscribeOptions {
  const tracer = activeTracer();
  if (tracer === undefined) return options;
  const { handler, batchHandler } = options;
  return {
    ...options,
    handler: (event) => {
      const parent = contextFromTraceparent(event.traceContext, ROOT_CONTEXT);
      return processed(tracer, parent, event, [], () => handler.call(options, event));
    },
    batchHandler:
      batchHandler === undefined
        ? undefined
        : (events) => {
            // One span for the batch, linked to the trace of every event in it.
            const links: Link[] = [];
            for (const event of events) {
              const linked = trace.getSpanContext(contextFromTraceparent(event.traceContext, ROOT_CONTEXT));
              if (linked !== undefined) links.push({ context: linked });
            }
            return processed(
              tracer,
              ROOT_CONTEXT,
              events[0] as DeliveredEvent,
              links,
              () => batchHandler.call(options, events),
              events.length,
            );
          },
  };
}

function processed(
  tracer: Tracer,
  parent: Context,
  event: DeliveredEvent,
  links: Link[],
  handle: () => Promise<void>,
  batchSize?: number,
): Promise<void> {
  const span = tracer.startSpan(
    `process ${event.subject}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        ...attributes(event.subject, "process", batchSize === undefined ? event.id : undefined),
        ...(batchSize === undefined
          ? { "messaging.message.delivery_count": event.deliveryCount }
          : { "messaging.batch.message_count": batchSize }),
      },
    },
    parent,
  );
  return endedWith(span, context.with(trace.setSpan(parent, span), handle));
}
