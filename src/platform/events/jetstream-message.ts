/**
 * An event as a JetStream message: the payload is the body, the event id travels as `Nats-Msg-Id`
 * (the broker's deduplication key), its type, time and trace context as headers of their own, and
 * the subject under the deployment's namespace.
 */
import { headers, type JsMsg, type MsgHdrs } from "nats";
import type { DeliveredEvent, PublishedEvent } from "./event-bus.js";

/** Header carrying {@link PublishedEvent.type}. */
export const EVENT_TYPE_HEADER = "Event-Type";
/** Header carrying {@link PublishedEvent.occurredAt} as RFC 3339. */
export const EVENT_OCCURRED_AT_HEADER = "Event-Occurred-At";
/** The W3C trace context of the event's publication (event-spans.ts), when tracing is on. */
export const TRACEPARENT_HEADER = "traceparent";
/** Set by nats.js from the `msgID` publish option; the broker deduplicates on it. */
export const MSG_ID_HEADER = "Nats-Msg-Id";

/** The headers an event is published with (the id goes as the `msgID` publish option). */
export function eventHeaders(event: PublishedEvent): MsgHdrs {
  const h = headers();
  h.set(EVENT_TYPE_HEADER, event.type);
  h.set(EVENT_OCCURRED_AT_HEADER, event.occurredAt.toISOString());
  if (event.traceContext !== undefined) h.set(TRACEPARENT_HEADER, event.traceContext);
  return h;
}

/** The event a message carries, its subject made relative again by removing `subjectPrefix`. */
export function toDeliveredEvent(msg: JsMsg, subjectPrefix: string): DeliveredEvent {
  const header = (name: string) => msg.headers?.get(name) || undefined;
  const occurredAt = header(EVENT_OCCURRED_AT_HEADER);
  return {
    id: header(MSG_ID_HEADER) ?? `${msg.info.stream}:${msg.seq}`,
    type: header(EVENT_TYPE_HEADER) ?? "",
    subject: msg.subject.startsWith(subjectPrefix) ? msg.subject.slice(subjectPrefix.length) : msg.subject,
    payload: new Uint8Array(msg.data), // a copy: msg.data is a view into a Buffer
    occurredAt: occurredAt ? new Date(occurredAt) : new Date(msg.info.timestampNanos / 1e6),
    traceContext: header(TRACEPARENT_HEADER),
    redelivered: msg.info.deliveryCount > 1,
    deliveryCount: msg.info.deliveryCount,
  };
}
