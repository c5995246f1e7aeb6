/**
 * The event bus on NATS JetStream (nats.js v2), put together from its parts:
 *
 * - `nats-connection.ts`: the connection, kept up in the background through outages;
 * - `jetstream-stream.ts`: the deployment's one stream, with the duplicate window that drops an
 *   event the relay publishes twice;
 * - `jetstream-consumer.ts` and `jetstream-handling.ts`: one pull consumer per subscribed subject,
 *   acking, redelivering with backoff and poisoning as `event-bus.ts` promises.
 *
 * `publish` and `ping` reject while NATS is away (the relay retries later; /readyz reports it);
 * subscriptions resume on their own when it comes back. docs/architecture.md shows the event path.
 */
import { connect } from "nats";
import type { Logger } from "../logger.js";
import { withTimeout } from "../with-timeout.js";
import {
  assertValidSubject,
  assertValidSubscription,
  type EventBus,
  type PublishedEvent,
  type RetryOptions,
  type SubscribeOptions,
  type Subscription,
} from "./event-bus.js";
import { tracedSubscription } from "./event-spans.js";
import { JetStreamConsumer } from "./jetstream-consumer.js";
import { eventHeaders } from "./jetstream-message.js";
import {
  apiErrorCode,
  assertValidNamespace,
  durableConsumerName,
  ERR_CONSUMER_NOT_FOUND,
  privateConsumerName,
  streamNameFor,
} from "./jetstream-names.js";
import { JetStreamStream } from "./jetstream-stream.js";
import { NatsConnection } from "./nats-connection.js";

export { MSG_ID_HEADER } from "./jetstream-message.js";
export { streamNameFor } from "./jetstream-names.js";

export interface JetStreamBusOptions {
  /** One NATS URL, or several separated by commas. */
  url: string;
  /** Subject prefix and stream/consumer name prefix of this deployment. */
  namespace: string;
  logger: Logger;
  /** Backoff of redeliveries after a handler throws. */
  retry?: RetryOptions;
  /** How long the broker remembers event ids. Default 10 minutes (at least 2 minutes). */
  duplicateWindowMs?: number;
  /** How long the stream keeps events; 0 or absent keeps them for good (projections are rebuilt from it). */
  maxAgeMs?: number;
  /** How long `publish` waits for the broker's ack. Default 5 s. */
  publishTimeoutMs?: number;
  /** Pause between reconnect attempts. Default 500 ms. */
  reconnectTimeWaitMs?: number;
  /** How long a delivered event may stay unacknowledged before the broker redelivers it. Default 30 s. */
  ackWaitMs?: number;
}

export interface JetStreamBus extends EventBus {
  readonly streamName: string;
  /**
   * Resolves once connected with the stream in place, waiting through outages (never rejects
   * unless the bus is closed). For start-up logs and tests; nothing needs to wait for it.
   */
  ready(): Promise<void>;
}

/**
 * Deletes a durable group's consumers so the group reads its subjects again from the start of the
 * stream: processes subscribed to it recreate the consumer on their own, new ones at start-up.
 */
export async function resetDurableGroup(
  options: { url: string; namespace: string },
  durableName: string,
  subjects: readonly string[],
): Promise<void> {
  const nc = await connect({ servers: options.url, timeout: 5_000 });
  try {
    const jsm = await nc.jetstreamManager();
    for (const subject of subjects) {
      await jsm.consumers
        .delete(
          streamNameFor(options.namespace),
          durableConsumerName(options.namespace, durableName, subject),
        )
        .catch((error: unknown) => {
          // A group that never ran has no consumer to delete.
          if (apiErrorCode(error) !== ERR_CONSUMER_NOT_FOUND) throw error;
        });
    }
  } finally {
    await nc.close();
  }
}

/**
 * Creates the bus and starts connecting in the background; it returns at once whether or not NATS
 * is reachable.
 */
export function createJetStreamBus(options: JetStreamBusOptions): JetStreamBus {
  return new JetStreamEventBus(options);
}

class JetStreamEventBus implements JetStreamBus {
  readonly streamName: string;
  private readonly connection: NatsConnection;
  private readonly stream: JetStreamStream;
  private readonly subscriptions = new Set<Subscription>();
  private readonly log: Logger;
  private readonly subjectPrefix: string;
  private readonly publishTimeoutMs: number;

  constructor(private readonly options: JetStreamBusOptions) {
    const { namespace } = options;
    assertValidNamespace(namespace);
    this.log = options.logger.child({ component: "jetstream-bus" });
    this.subjectPrefix = `${namespace}.`;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
    const duplicateWindowMs = Math.max(options.duplicateWindowMs ?? 10 * 60_000, 2 * 60_000);
    this.connection = new NatsConnection({
      servers: options.url
        .split(",")
        .map((server) => server.trim())
        .filter(Boolean),
      name: `${namespace}-events`,
      reconnectTimeWaitMs: options.reconnectTimeWaitMs ?? 500,
      requestTimeoutMs: this.publishTimeoutMs,
      log: this.log,
    });
    this.stream = new JetStreamStream(this.connection, {
      name: streamNameFor(namespace),
      subject: `${namespace}.>`,
      duplicateWindowMs,
      // Unlimited by default: the stream is the history a projection (statistics) is rebuilt from.
      maxAgeMs: options.maxAgeMs ? Math.max(options.maxAgeMs, duplicateWindowMs) : 0,
      log: this.log,
    });
    this.streamName = this.stream.name;
  }

  async publish(event: PublishedEvent): Promise<void> {
    assertValidSubject(event.subject, { wildcards: false });
    this.connection.connected(); // refuse at once while NATS is away, before waiting on the stream
    await this.stream.ensure();
    const { js } = this.connection.connected();
    await js.publish(`${this.subjectPrefix}${event.subject}`, event.payload, {
      msgID: event.id,
      headers: eventHeaders(event),
      timeout: this.publishTimeoutMs,
    });
  }

  async subscribe(untraced: SubscribeOptions): Promise<Subscription> {
    if (this.connection.isClosed) throw new Error("event bus is closed");
    assertValidSubscription(untraced);
    const subscribeOptions = tracedSubscription(untraced);
    const since = new Date();
    const consumers = subscribeOptions.subjects.map((subject) =>
      this.consumerOf(subject, subscribeOptions, since),
    );
    const subscriptions = this.subscriptions;
    const subscription: Subscription = {
      async stop() {
        subscriptions.delete(subscription);
        await Promise.all(consumers.map((consumer) => consumer.stop()));
      },
      async pending() {
        const counts = await Promise.all(consumers.map((consumer) => consumer.pending()));
        return counts.reduce((sum, count) => sum + count, 0);
      },
    };
    subscriptions.add(subscription);
    return subscription;
  }

  async ping(): Promise<void> {
    const { conn } = this.connection.connected();
    await withTimeout(
      Promise.all([conn.flush(), this.stream.ensure()]),
      2_000,
      () => new Error("NATS did not answer in time"),
    );
  }

  async ready(): Promise<void> {
    while (!this.connection.isClosed) {
      if (this.connection.current.kind === "connected") {
        try {
          await this.stream.ensure();
          return;
        } catch {
          // not yet: JetStream may still be starting
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error("event bus is closed");
  }

  async close(): Promise<void> {
    if (this.connection.isClosed) return;
    // Each subscription stops after the event its handler is on (acknowledged) and gives back
    // the ones it had buffered (nak), so another member or the next start gets them at once.
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await this.connection.close();
  }

  private consumerOf(subject: string, subscribeOptions: SubscribeOptions, since: Date): JetStreamConsumer {
    const { namespace } = this.options;
    const { durableName } = subscribeOptions;
    return new JetStreamConsumer({
      connection: this.connection,
      stream: this.stream,
      name:
        durableName === undefined
          ? privateConsumerName(namespace, subject)
          : durableConsumerName(namespace, durableName, subject),
      filterSubject: `${this.subjectPrefix}${subject}`,
      since,
      subscribeOptions,
      subjectPrefix: this.subjectPrefix,
      retry: this.options.retry,
      ackWaitMs: this.options.ackWaitMs ?? 30_000,
      log: this.log,
    });
  }
}
