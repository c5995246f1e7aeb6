/**
 * The event bus the outbox relay publishes to and modules subscribe on. Two implementations:
 * NATS JetStream (`jetstream-bus.ts`) and an in-process bus (`in-process-bus.ts`) with the same
 * semantics as far as one process can tell: at-least-once delivery, ack on resolve, redelivery
 * with backoff on throw, durable groups that share the work, and a poison hook after too many
 * failed deliveries.
 *
 * Subjects are relative to the deployment's namespace (`inventory.product.created`); the JetStream
 * bus puts them under `<NAMESPACE>.` on the wire.
 */

import { backoffDelay } from "../backoff.js";
import type { Logger } from "../logger.js";

export interface PublishedEvent {
  /** The event id (a UUID); the broker drops a second publish of the same id. */
  readonly id: string;
  /** Fully qualified protobuf message name of the payload, e.g. `ecommerce.inventory.v1.ProductCreated`. */
  readonly type: string;
  /** Relative subject, dot-separated tokens, no wildcards. */
  readonly subject: string;
  /** Protobuf binary of the message. */
  readonly payload: Uint8Array;
  readonly occurredAt: Date;
  /** W3C `traceparent` of the trace the event belongs to, when tracing is on (event-spans.ts). */
  readonly traceContext?: string;
}

export interface DeliveredEvent extends PublishedEvent {
  /** True when this event was delivered to this subscription (or group) before. */
  readonly redelivered: boolean;
  /** 1 on the first delivery, 2 on the first redelivery, … */
  readonly deliveryCount: number;
}

export interface SubscribeOptions {
  /**
   * Relative subjects. `*` matches one token, a trailing `>` one or more tokens
   * (`inventory.product.>`). On JetStream each subject becomes its own consumer, so order is only
   * kept within one subject: when order across several subjects matters, use one `>` subject.
   */
  subjects: readonly string[];
  /**
   * A shared consumer group: every event is handled by one subscriber of the group, and the group
   * keeps its place while nobody is subscribed (on JetStream even across restarts, and a new group
   * starts from the beginning of the stream). Without it the subscription sees every event
   * published from the moment `subscribe` was called, on its own.
   */
  durableName?: string;
  /**
   * Where a durable group this call creates starts: `"beginning"` (default) reads the stream from
   * its start (a projection), `"now"` only what is published from then on (a reaction to changes,
   * for which history is stale). No effect on a group that already exists.
   */
  startAt?: "beginning" | "now";
  /** Resolving acknowledges the event; throwing has it redelivered later (with backoff). */
  handler(event: DeliveredEvent): Promise<void>;
  /**
   * Optional: handles, in one call, events that arrived while the previous call was running (in
   * delivery order, at most `maxBatch`, never a lone event: that goes to `handler`); resolving
   * acknowledges them all. When it throws, each of them is handed to `handler` on its own, so a
   * failing event is retried or poisoned alone. A bus may always use `handler` instead (the
   * in-process bus does, one event at a time).
   */
  batchHandler?(events: readonly DeliveredEvent[]): Promise<void>;
  /** The most events one `batchHandler` call gets. Default 256. */
  maxBatch?: number;
  /** Deliveries after which a still-failing event goes to `onPoison` and is dropped. Default 20. */
  maxDeliveries?: number;
  /**
   * Receives the event that failed `maxDeliveries` times (default: an error is logged and the
   * event dropped). Resolving drops the event; throwing keeps it, to be delivered again later
   * (e.g. when the place to park it is unreachable, or the failures were an outage, not the event).
   */
  onPoison?(event: DeliveredEvent, error: unknown): void | Promise<void>;
}

export interface Subscription {
  /** Stops delivering; resolves once the handler call in flight (if any) has finished. */
  stop(): Promise<void>;
  /**
   * Events published but not yet acknowledged by this subscription (or its group): the consumer's
   * lag. Rejects when the broker cannot be asked.
   */
  pending(): Promise<number>;
}

export interface EventBus {
  /** Resolves once the bus has the event (JetStream: stored in the stream); rejects otherwise. */
  publish(event: PublishedEvent): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Resolves when the bus is usable right now (readiness checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Backoff between redeliveries of a failing event. */
export interface RetryOptions {
  /** Delay before the first redelivery. Default 500 ms. */
  initialDelayMs?: number;
  /** Upper bound of the doubling delay. Default 60 s. */
  maxDelayMs?: number;
}

export const DEFAULT_MAX_DELIVERIES = 20;
export const DEFAULT_MAX_BATCH = 256;

/** The delay before delivery number `deliveryCount + 1`, doubling from `initialDelayMs`. */
export function redeliveryDelay(retry: RetryOptions | undefined, deliveryCount: number): number {
  return backoffDelay(
    { initialMs: retry?.initialDelayMs ?? 500, maxMs: retry?.maxDelayMs ?? 60_000 },
    deliveryCount,
  );
}

const TOKEN = /^[^\s.*>]+$/;

/**
 * Throws unless `subject` is a relative subject: non-empty dot-separated tokens without
 * whitespace; with `wildcards`, a token may be `*` and the last token `>`.
 */
export function assertValidSubject(subject: string, options: { wildcards: boolean }): void {
  const tokens = subject.split(".");
  const ok = tokens.every((token, index) => {
    if (TOKEN.test(token)) return true;
    if (!options.wildcards) return false;
    return token === "*" || (token === ">" && index === tokens.length - 1);
  });
  if (!ok) {
    throw new Error(
      `invalid event subject ${JSON.stringify(subject)}: expected dot-separated tokens${
        options.wildcards ? " (wildcards: '*', trailing '>')" : " without wildcards"
      }`,
    );
  }
}

/** Throws unless `options` can be subscribed: at least one valid subject, a positive `maxBatch`. */
export function assertValidSubscription(options: SubscribeOptions): void {
  if (options.subjects.length === 0) throw new Error("subscribe needs at least one subject");
  const { maxBatch } = options;
  if (maxBatch !== undefined && !(Number.isInteger(maxBatch) && maxBatch >= 1)) {
    throw new RangeError(`maxBatch must be a positive integer, not ${maxBatch}`);
  }
  for (const subject of options.subjects) assertValidSubject(subject, { wildcards: true });
}

/** NATS subject matching of a concrete subject against a pattern with `*` / `>` wildcards. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === ">") return s.length > i;
    if (i >= s.length) return false;
    if (token !== "*" && token !== s[i]) return false;
  }
  return p.length === s.length;
}

/**
 * Hands an event that failed too often to `onPoison` (or logs it). Resolves to true when the event
 * may be dropped now, false when `onPoison` threw and the event must be delivered again later;
 * never throws.
 */
export async function poison(
  options: SubscribeOptions,
  event: DeliveredEvent,
  error: unknown,
  logger: Logger | undefined,
): Promise<boolean> {
  const context = { err: error, eventId: event.id, type: event.type, subject: event.subject };
  if (!options.onPoison) {
    if (logger) logger.error(context, "event dropped after too many failed deliveries");
    else console.error("event dropped after too many failed deliveries", context);
    return true;
  }
  try {
    await options.onPoison(event, error);
    return true;
  } catch (poisonError) {
    logger?.warn({ ...context, poisonError }, "onPoison refused the event; it will be delivered again");
    return false;
  }
}

/**
 * After a failed delivery: whether the event is done with (it failed `maxDeliveries` times and
 * {@link poison} let it go), or must be delivered again.
 */
export async function givenUp(
  options: SubscribeOptions,
  event: DeliveredEvent,
  error: unknown,
  logger: Logger | undefined,
): Promise<boolean> {
  if (event.deliveryCount < (options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES)) return false;
  return poison(options, event, error, logger);
}
