/**
 * The event bus on NATS JetStream (nats.js v2).
 *
 * - One stream per deployment, `<namespace>_events` over `<namespace>.>`, file storage, with a
 *   duplicate window: every event is published with `Nats-Msg-Id` = its id, so a publish the relay
 *   repeats (after a lost ack, a crash, a second relay) is dropped by the broker.
 * - Subscriptions are pull consumers with explicit acks: durable ones are shared by every process
 *   subscribing with the same `durableName`, so each event is handled once per group.
 * - NATS may be down when the process starts or go away later: the bus connects in the background
 *   and keeps retrying, `publish` and `ping` reject while it is disconnected (the relay retries
 *   later; /readyz reports it), and subscriptions resume on their own when it comes back.
 */
import { createHash, randomUUID } from "node:crypto";
import {
  AckPolicy,
  type ConsumerConfig,
  ConsumerEvents,
  type ConsumerMessages,
  connect,
  DeliverPolicy,
  DiscardPolicy,
  Events,
  headers,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
} from "nats";
import { backoffDelay } from "../backoff.js";
import { inBatches } from "../batching/async-batches.js";
import type { Logger } from "../logger.js";
import { logsFailure } from "../rate-limited-log.js";
import { redactUrl } from "../redact-url.js";
import { withTimeout } from "../with-timeout.js";
import {
  assertValidSubject,
  DEFAULT_MAX_BATCH,
  type DeliveredEvent,
  type EventBus,
  givenUp,
  type PublishedEvent,
  type RetryOptions,
  redeliveryDelay,
  type SubscribeOptions,
  type Subscription,
} from "./event-bus.js";

/** Header carrying {@link PublishedEvent.type}. */
export const EVENT_TYPE_HEADER = "Event-Type";
/** Header carrying {@link PublishedEvent.occurredAt} as RFC 3339. */
export const EVENT_OCCURRED_AT_HEADER = "Event-Occurred-At";
/** Set by nats.js from the `msgID` publish option; the broker deduplicates on it. */
export const MSG_ID_HEADER = "Nats-Msg-Id";

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

const NAMESPACE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const ERR_STREAM_NOT_FOUND = 10059;
const ERR_STREAM_NAME_IN_USE = 10058;
const ERR_CONSUMER_NOT_FOUND = 10014;

/** The stream name of a namespace: `shop.eu` → `shop_eu_events`. */
export function streamNameFor(namespace: string): string {
  return `${sanitizeName(namespace)}_events`;
}

/** The JetStream consumer behind a durable group's subscription to one subject. */
export function durableConsumerName(namespace: string, durableName: string, subject: string): string {
  return `${sanitizeName(namespace)}_${sanitizeName(durableName)}_${shortHash(subject)}`;
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

function sanitizeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_");
}

function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 10);
}

function apiErrorCode(error: unknown): number | undefined {
  return (error as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code;
}

class NotConnectedError extends Error {
  constructor() {
    super("NATS is not connected");
    this.name = "NotConnectedError";
  }
}

/** A sleep that `cancel()` ends early. */
function cancellableSleep(ms: number): { promise: Promise<void>; cancel(): void } {
  let cancel = () => {};
  const promise = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    cancel = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { promise, cancel };
}

/**
 * Creates the bus and starts connecting in the background; it returns at once whether or not NATS
 * is reachable.
 */
export function createJetStreamBus(options: JetStreamBusOptions): JetStreamBus {
  const { namespace, logger } = options;
  if (!NAMESPACE.test(namespace)) {
    throw new Error(`invalid namespace ${JSON.stringify(namespace)}: use letters, digits, '-', '_' and '.'`);
  }
  const log = logger.child({ component: "jetstream-bus" });
  const streamName = streamNameFor(namespace);
  const subjectPrefix = `${namespace}.`;
  const duplicateWindowMs = Math.max(options.duplicateWindowMs ?? 10 * 60_000, 2 * 60_000);
  // Unlimited by default: the stream is the history a projection (statistics) is rebuilt from.
  const maxAgeMs = options.maxAgeMs ? Math.max(options.maxAgeMs, duplicateWindowMs) : 0;
  const publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
  const reconnectTimeWaitMs = options.reconnectTimeWaitMs ?? 500;
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const servers = options.url
    .split(",")
    .map((server) => server.trim())
    .filter(Boolean);
  /** The servers as logs may show them: credentials hidden. */
  const shownServers = servers.map(redactUrl);

  let closed = false;
  let nc: NatsConnection | undefined;
  let connected = false;
  let jsm: Promise<JetStreamManager> | undefined;
  let js: JetStreamClient | undefined;
  let streamEnsured: Promise<void> | undefined;
  let connectSleep: { cancel(): void } | undefined;
  const subscriptions = new Set<Subscription>();
  /** Consumer iterators of the current connection; ended when it closes so they restart on the next. */
  const iterators = new Set<ConsumerMessages>();

  function currentConnection(): NatsConnection {
    if (closed) throw new Error("event bus is closed");
    if (!nc || !connected) throw new NotConnectedError();
    return nc;
  }

  function manager(conn: NatsConnection): Promise<JetStreamManager> {
    if (!jsm) {
      const attempt = conn.jetstreamManager();
      jsm = attempt;
      attempt.catch(() => {
        if (jsm === attempt) jsm = undefined;
      });
    }
    return jsm;
  }

  async function createOrUpdateStream(): Promise<void> {
    const conn = currentConnection();
    const m = await manager(conn);
    const subject = `${namespace}.>`;
    let info: Awaited<ReturnType<JetStreamManager["streams"]["info"]>>;
    try {
      info = await m.streams.info(streamName);
    } catch (error) {
      if (apiErrorCode(error) !== ERR_STREAM_NOT_FOUND) throw error;
      try {
        await m.streams.add({
          name: streamName,
          subjects: [subject],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          discard: DiscardPolicy.Old,
          duplicate_window: nanos(duplicateWindowMs),
          max_age: nanos(maxAgeMs),
        });
        log.info({ stream: streamName, subject }, "created JetStream stream");
        return;
      } catch (addError) {
        // Another process created it first (with a different config): fall through to update.
        if (apiErrorCode(addError) !== ERR_STREAM_NAME_IN_USE) throw addError;
        info = await m.streams.info(streamName);
      }
    }
    const config = info.config;
    const subjects = config.subjects ?? [];
    const wantedWindow = nanos(duplicateWindowMs);
    if (!subjects.includes(subject) || config.duplicate_window < wantedWindow) {
      await m.streams.update(streamName, {
        ...config,
        subjects: subjects.includes(subject) ? subjects : [...subjects, subject],
        duplicate_window: Math.max(config.duplicate_window, wantedWindow),
        max_age: config.max_age === 0 ? 0 : Math.max(config.max_age, wantedWindow),
      });
      log.info({ stream: streamName }, "updated JetStream stream");
    }
  }

  /** Creates or updates the stream once per connection (again after each reconnect). */
  function ensureStream(): Promise<void> {
    if (!streamEnsured) {
      const attempt = createOrUpdateStream();
      streamEnsured = attempt;
      attempt.catch(() => {
        if (streamEnsured === attempt) streamEnsured = undefined;
      });
    }
    return streamEnsured;
  }

  function ensureStreamInBackground(): void {
    ensureStream().catch((error) => log.debug({ err: error }, "stream not ready yet"));
  }

  async function watchStatus(conn: NatsConnection): Promise<void> {
    for await (const status of conn.status()) {
      if (conn !== nc) return;
      if (status.type === Events.Disconnect) {
        connected = false;
        log.warn({ server: status.data }, "disconnected from NATS; reconnecting");
      } else if (status.type === Events.Reconnect) {
        connected = true;
        // The server may have lost its state (another node, a wiped store): check the stream again.
        streamEnsured = undefined;
        jsm = undefined;
        log.info({ server: status.data }, "reconnected to NATS");
        ensureStreamInBackground();
      }
    }
  }

  const connectionLoop = (async () => {
    let failures = 0;
    while (!closed) {
      try {
        const conn = await connect({
          servers,
          name: `${namespace}-events`,
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: reconnectTimeWaitMs,
          reconnectJitter: 100,
          waitOnFirstConnect: false,
          timeout: 5_000,
          pingInterval: 5_000,
          maxPingOut: 3,
        });
        if (closed) {
          await conn.close();
          return;
        }
        failures = 0;
        nc = conn;
        js = conn.jetstream({ timeout: publishTimeoutMs });
        jsm = undefined;
        streamEnsured = undefined;
        connected = true;
        log.info({ servers: shownServers }, "connected to NATS");
        watchStatus(conn).catch((error) => log.error({ err: error }, "NATS status watcher failed"));
        ensureStreamInBackground();
        const error = await conn.closed();
        connected = false;
        nc = undefined;
        js = undefined;
        for (const iterator of iterators) iterator.stop();
        iterators.clear();
        if (closed) return;
        log.warn({ err: error }, "NATS connection closed; connecting again");
      } catch (error) {
        failures++;
        if (logsFailure(failures, 60)) {
          log.warn(
            { err: error, servers: shownServers, failures },
            "NATS unreachable; retrying in the background",
          );
        }
      }
      if (closed) return;
      const sleep = cancellableSleep(
        backoffDelay(
          { initialMs: reconnectTimeWaitMs, maxMs: Math.min(5_000, reconnectTimeWaitMs * 16) },
          failures + 1,
        ),
      );
      connectSleep = sleep;
      await sleep.promise;
    }
  })();

  function toDeliveredEvent(msg: JsMsg): DeliveredEvent {
    const header = (name: string) => msg.headers?.get(name) || undefined;
    const occurredAt = header(EVENT_OCCURRED_AT_HEADER);
    return {
      id: header(MSG_ID_HEADER) ?? `${msg.info.stream}:${msg.seq}`,
      type: header(EVENT_TYPE_HEADER) ?? "",
      subject: msg.subject.startsWith(subjectPrefix) ? msg.subject.slice(subjectPrefix.length) : msg.subject,
      payload: new Uint8Array(msg.data), // a copy: msg.data is a view into a Buffer
      occurredAt: occurredAt ? new Date(occurredAt) : new Date(msg.info.timestampNanos / 1e6),
      redelivered: msg.info.deliveryCount > 1,
      deliveryCount: msg.info.deliveryCount,
    };
  }

  async function handle(msg: JsMsg, subscribeOptions: SubscribeOptions): Promise<void> {
    let event: DeliveredEvent;
    try {
      event = toDeliveredEvent(msg);
    } catch (error) {
      // Nothing a handler could be given: redelivering would fail the same way.
      log.error({ err: error, subject: msg.subject, seq: msg.seq }, "unreadable JetStream message dropped");
      msg.term();
      return;
    }
    const stopKeepingAlive = keepWorking([msg]);
    try {
      await subscribeOptions.handler(event);
      msg.ack();
    } catch (error) {
      if (await givenUp(subscribeOptions, event, error, log)) {
        msg.term();
      } else {
        const delayMs = redeliveryDelay(options.retry, event.deliveryCount);
        log.warn(
          {
            err: error,
            eventId: event.id,
            subject: event.subject,
            deliveryCount: event.deliveryCount,
            delayMs,
          },
          "event handler failed; redelivering",
        );
        msg.nak(delayMs);
      }
    } finally {
      stopKeepingAlive();
    }
  }

  /** Tells the broker the events are being worked on, so a slow handler's are not redelivered meanwhile. */
  function keepWorking(msgs: readonly JsMsg[]): () => void {
    const timer = setInterval(
      () => {
        for (const msg of msgs) msg.working();
      },
      Math.max(1_000, ackWaitMs / 3),
    );
    return () => clearInterval(timer);
  }

  /** Handles events that arrived together in one batchHandler call, or one by one if it throws. */
  async function handleBatch(
    batch: JsMsg[],
    batchHandler: NonNullable<SubscribeOptions["batchHandler"]>,
    subscribeOptions: SubscribeOptions,
  ): Promise<void> {
    const stopKeepingAlive = keepWorking(batch);
    try {
      const events = batch.map(toDeliveredEvent);
      await batchHandler(events);
    } catch (error) {
      log.debug({ err: error, events: batch.length }, "batch handler failed; handling its events one by one");
      for (const msg of batch) await handle(msg, subscribeOptions);
      return;
    } finally {
      stopKeepingAlive();
    }
    for (const msg of batch) msg.ack();
  }

  /** Runs one pull consumer until stopped, recreating it whenever it or the connection is lost. */
  function runConsumer(subject: string, subscribeOptions: SubscribeOptions, since: Date): Subscription {
    const durable = subscribeOptions.durableName;
    const name =
      durable === undefined
        ? `${sanitizeName(namespace)}_sub_${randomUUID().slice(0, 8)}_${shortHash(subject)}`
        : durableConsumerName(namespace, durable, subject);
    let stopped = false;
    let messages: ConsumerMessages | undefined;
    let sleep: { cancel(): void } | undefined;
    let lastSeen = since;
    const { batchHandler } = subscribeOptions;
    const batching = batchHandler !== undefined;
    const maxBatch = subscribeOptions.maxBatch ?? DEFAULT_MAX_BATCH;

    const config = (): Partial<ConsumerConfig> => ({
      durable_name: name,
      filter_subject: `${subjectPrefix}${subject}`,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(ackWaitMs),
      // Redelivery limits are enforced here (onPoison), not by the server, which would drop silently.
      max_deliver: -1,
      max_ack_pending: 1_000,
      ...(durable === undefined
        ? {
            // Everything from the moment subscribe() was called (or from the last event seen, when
            // the consumer has to be recreated), even if NATS was unreachable then.
            deliver_policy: DeliverPolicy.StartTime,
            opt_start_time: lastSeen.toISOString(),
            inactive_threshold: nanos(5 * 60_000),
          }
        : { deliver_policy: subscribeOptions.startAt === "now" ? DeliverPolicy.New : DeliverPolicy.All }),
    });

    async function ensureConsumer(conn: NatsConnection): Promise<void> {
      const m = await manager(conn);
      try {
        await m.consumers.info(streamName, name);
        return;
      } catch (error) {
        if (apiErrorCode(error) !== ERR_CONSUMER_NOT_FOUND) throw error;
      }
      await m.consumers.add(streamName, config());
      log.debug({ consumer: name, subject }, "created JetStream consumer");
    }

    async function watch(iterator: ConsumerMessages): Promise<void> {
      for await (const status of await iterator.status()) {
        if (
          status.type === ConsumerEvents.ConsumerDeleted ||
          status.type === ConsumerEvents.ConsumerNotFound ||
          status.type === ConsumerEvents.StreamNotFound
        ) {
          // End this iterator; the loop below recreates stream and consumer.
          log.warn({ consumer: name, status: status.type }, "JetStream consumer lost; recreating");
          iterator.stop();
          return;
        }
      }
    }

    const loop = (async () => {
      let failures = 0;
      while (!stopped) {
        try {
          const conn = currentConnection();
          await ensureStream();
          await ensureConsumer(conn);
          if (!js) throw new NotConnectedError();
          const consumer = await js.consumers.get(streamName, name);
          if (stopped) break;
          // With a batch handler, read further ahead: what is buffered is the next batch.
          const iterator = await consumer.consume({ max_messages: batching ? maxBatch : 16 });
          // stop() may have run while consume() was pending, before there was an iterator to stop.
          if (stopped) iterator.stop();
          messages = iterator;
          iterators.add(iterator);
          watch(iterator).catch(() => {});
          failures = 0;
          const batches = batching ? inBatches(iterator, maxBatch) : oneByOne(iterator);
          for await (const batch of batches) {
            if (stopped) {
              for (const msg of batch) msg.nak(); // buffered but not handled: another member may have it now
              continue;
            }
            if (batch.length === 1 || batchHandler === undefined)
              await handle(batch[0] as JsMsg, subscribeOptions);
            else await handleBatch(batch, batchHandler, subscribeOptions);
            const last = batch[batch.length - 1] as JsMsg;
            lastSeen = new Date(last.info.timestampNanos / 1e6);
          }
        } catch (error) {
          failures++;
          if (!(error instanceof NotConnectedError) && logsFailure(failures, 30)) {
            log.warn({ err: error, consumer: name, failures }, "JetStream consumer failed; retrying");
          }
        } finally {
          // Left early (a throw): stop the iterator, which is read ahead in the background with a
          // batch handler and would otherwise keep taking events that nobody handles.
          messages?.stop();
          if (messages) iterators.delete(messages);
          messages = undefined;
        }
        if (stopped) break;
        const pause = cancellableSleep(backoffDelay({ initialMs: 250, maxMs: 4_000 }, failures + 1));
        sleep = pause;
        await pause.promise;
      }
    })();

    return {
      async pending() {
        const info = await (await manager(currentConnection())).consumers.info(streamName, name);
        return info.num_pending + info.num_ack_pending;
      },
      async stop() {
        stopped = true;
        messages?.stop();
        sleep?.cancel();
        await loop;
        if (durable === undefined && nc && connected) {
          // A private consumer has no use after this; the inactive threshold removes it otherwise.
          const m = await manager(nc).catch(() => undefined);
          await m?.consumers.delete(streamName, name).catch(() => {});
        }
      },
    };
  }

  const bus: JetStreamBus = {
    streamName,

    async publish(event: PublishedEvent) {
      assertValidSubject(event.subject, { wildcards: false });
      currentConnection();
      await ensureStream();
      const client = js;
      if (!client || !connected) throw new NotConnectedError();
      const h = headers();
      h.set(EVENT_TYPE_HEADER, event.type);
      h.set(EVENT_OCCURRED_AT_HEADER, event.occurredAt.toISOString());
      await client.publish(`${subjectPrefix}${event.subject}`, event.payload, {
        msgID: event.id,
        headers: h,
        timeout: publishTimeoutMs,
      });
    },

    async subscribe(subscribeOptions) {
      if (closed) throw new Error("event bus is closed");
      if (subscribeOptions.subjects.length === 0) throw new Error("subscribe needs at least one subject");
      const { maxBatch } = subscribeOptions;
      if (maxBatch !== undefined && !(Number.isInteger(maxBatch) && maxBatch >= 1)) {
        throw new RangeError(`maxBatch must be a positive integer, not ${maxBatch}`);
      }
      for (const subject of subscribeOptions.subjects) assertValidSubject(subject, { wildcards: true });
      const since = new Date();
      const consumers = subscribeOptions.subjects.map((subject) =>
        runConsumer(subject, subscribeOptions, since),
      );
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
    },

    async ping() {
      const conn = currentConnection();
      await withTimeout(
        Promise.all([conn.flush(), ensureStream()]),
        2_000,
        () => new Error("NATS did not answer in time"),
      );
    },

    async ready() {
      while (!closed) {
        if (nc && connected) {
          try {
            await ensureStream();
            return;
          } catch {
            // not yet: JetStream may still be starting
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error("event bus is closed");
    },

    async close() {
      if (closed) return;
      // Each subscription stops after the event its handler is on (acknowledged) and gives back
      // the ones it had buffered (nak), so another member or the next start gets them at once.
      await Promise.all([...subscriptions].map((subscription) => subscription.stop()));
      closed = true;
      connectSleep?.cancel();
      const conn = nc;
      if (conn && !conn.isClosed()) {
        // close() drops what is still in the outgoing buffer: a round trip to the server first
        // makes sure the last acks and naks arrived (else those events come again after ack_wait).
        if (connected) {
          await withTimeout(conn.flush(), 2_000, () => new Error("NATS flush timed out")).catch(
            (error: unknown) => log.debug({ err: error }, "could not flush before closing"),
          );
        }
        await conn.close();
      }
      await connectionLoop;
    },
  };
  return bus;
}

/** Each item of `source` as a batch of its own. */
async function* oneByOne<T>(source: AsyncIterable<T>): AsyncGenerator<T[]> {
  for await (const item of source) yield [item];
}
