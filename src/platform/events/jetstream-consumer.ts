/**
 * One subscribed subject as a JetStream pull consumer with explicit acks, kept running until
 * stopped: it recreates stream and consumer whenever either or the connection is lost, and backs
 * off while NATS is away. A durable group's consumer is shared by every process subscribing with
 * the same group (each event handled once per group); a private one starts where `subscribe` was
 * called and, when recreated, after the last event it saw.
 */
import {
  AckPolicy,
  type ConsumerConfig,
  ConsumerEvents,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  nanos,
} from "nats";
import { backoffDelay } from "../backoff.js";
import { inBatches } from "../batching/async-batches.js";
import { InterruptibleSleep } from "../interruptible-sleep.js";
import { logsFailure } from "../rate-limited-log.js";
import { DEFAULT_MAX_BATCH, type Subscription } from "./event-bus.js";
import { handleBatch, type MessageHandling } from "./jetstream-handling.js";
import { apiErrorCode, ERR_CONSUMER_NOT_FOUND } from "./jetstream-names.js";
import type { JetStreamStream } from "./jetstream-stream.js";
import { type NatsConnection, NotConnectedError } from "./nats-connection.js";

export interface JetStreamConsumerOptions extends MessageHandling {
  readonly connection: NatsConnection;
  readonly stream: JetStreamStream;
  /** The consumer's name on the broker (see jetstream-names.ts). */
  readonly name: string;
  /** The absolute subject it filters on. */
  readonly filterSubject: string;
  /** For a private consumer: where it starts. */
  readonly since: Date;
}

export class JetStreamConsumer implements Subscription {
  private stopped = false;
  private messages: ConsumerMessages | undefined;
  private readonly pause = new InterruptibleSleep();
  /** When the last handled event was published: where a recreated private consumer resumes. */
  private lastSeen: Date;
  private readonly loop: Promise<void>;

  constructor(private readonly options: JetStreamConsumerOptions) {
    this.lastSeen = options.since;
    this.loop = this.run();
  }

  async pending(): Promise<number> {
    const info = await (await this.options.stream.manager()).consumers.info(
      this.options.stream.name,
      this.options.name,
    );
    return info.num_pending + info.num_ack_pending;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.messages?.stop();
    this.pause.interrupt();
    await this.loop;
    if (this.isPrivate && this.options.connection.current.kind === "connected") {
      // A private consumer has no use after this; the inactive threshold removes it otherwise.
      const m = await this.options.stream.manager().catch(() => undefined);
      await m?.consumers.delete(this.options.stream.name, this.options.name).catch(() => {});
    }
  }

  private get isPrivate(): boolean {
    return this.options.subscribeOptions.durableName === undefined;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const iterator = await this.attach();
        if (iterator === undefined) break;
        failures = 0;
        await this.consume(iterator);
      } catch (error) {
        failures++;
        if (!(error instanceof NotConnectedError) && logsFailure(failures, 30)) {
          this.options.log.warn(
            { err: error, consumer: this.options.name, failures },
            "JetStream consumer failed; retrying",
          );
        }
      } finally {
        // Left early (a throw): stop the iterator, which is read ahead in the background with a
        // batch handler and would otherwise keep taking events that nobody handles.
        this.messages?.stop();
        this.messages = undefined;
      }
      if (this.stopped) break;
      await this.pause.sleep(backoffDelay({ initialMs: 250, maxMs: 4_000 }, failures + 1));
    }
  }

  /** Creates what is missing and starts pulling; undefined when stopped meanwhile. */
  private async attach(): Promise<ConsumerMessages | undefined> {
    const { connection, stream, name, subscribeOptions } = this.options;
    const { conn, js } = connection.connected();
    await stream.ensure();
    await this.ensureConsumer();
    const consumer = await js.consumers.get(stream.name, name);
    if (this.stopped) return undefined;
    // With a batch handler, read further ahead: what is buffered is the next batch.
    const batching = subscribeOptions.batchHandler !== undefined;
    const iterator = await consumer.consume({ max_messages: batching ? this.maxBatch : 16 });
    // stop() may have run while consume() was pending, before there was an iterator to stop.
    if (this.stopped) iterator.stop();
    this.messages = iterator;
    // A connection closed for good ends its iterators; the loop starts over on the next one.
    conn.closed().then(
      () => iterator.stop(),
      () => iterator.stop(),
    );
    this.watch(iterator).catch(() => {});
    return iterator;
  }

  private get maxBatch(): number {
    return this.options.subscribeOptions.maxBatch ?? DEFAULT_MAX_BATCH;
  }

  private async consume(iterator: ConsumerMessages): Promise<void> {
    const batching = this.options.subscribeOptions.batchHandler !== undefined;
    const batches = batching ? inBatches(iterator, this.maxBatch) : oneByOne(iterator);
    for await (const batch of batches) {
      if (this.stopped) {
        for (const msg of batch) msg.nak(); // buffered but not handled: another member may have it now
        continue;
      }
      await handleBatch(batch, this.options);
      const last = batch[batch.length - 1] as JsMsg;
      this.lastSeen = new Date(last.info.timestampNanos / 1e6);
    }
  }

  private async ensureConsumer(): Promise<void> {
    const { stream, name } = this.options;
    const m = await stream.manager();
    try {
      await m.consumers.info(stream.name, name);
      return;
    } catch (error) {
      if (apiErrorCode(error) !== ERR_CONSUMER_NOT_FOUND) throw error;
    }
    await m.consumers.add(stream.name, this.config());
    this.options.log.debug(
      { consumer: name, subject: this.options.filterSubject },
      "created JetStream consumer",
    );
  }

  private config(): Partial<ConsumerConfig> {
    const { subscribeOptions } = this.options;
    return {
      durable_name: this.options.name,
      filter_subject: this.options.filterSubject,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(this.options.ackWaitMs),
      // Redelivery limits are enforced here (onPoison), not by the server, which would drop silently.
      max_deliver: -1,
      max_ack_pending: 1_000,
      ...(this.isPrivate
        ? {
            // Everything from the moment subscribe() was called (or from the last event seen, when
            // the consumer has to be recreated), even if NATS was unreachable then.
            deliver_policy: DeliverPolicy.StartTime,
            opt_start_time: this.lastSeen.toISOString(),
            inactive_threshold: nanos(5 * 60_000),
          }
        : { deliver_policy: subscribeOptions.startAt === "now" ? DeliverPolicy.New : DeliverPolicy.All }),
    };
  }

  /** Ends the iterator when the consumer or stream is deleted under it, so that the loop recreates them. */
  private async watch(iterator: ConsumerMessages): Promise<void> {
    for await (const status of await iterator.status()) {
      if (
        status.type === ConsumerEvents.ConsumerDeleted ||
        status.type === ConsumerEvents.ConsumerNotFound ||
        status.type === ConsumerEvents.StreamNotFound
      ) {
        this.options.log.warn(
          { consumer: this.options.name, status: status.type },
          "JetStream consumer lost; recreating",
        );
        iterator.stop();
        return;
      }
    }
  }
}

/** Each item of `source` as a batch of its own. */
async function* oneByOne<T>(source: AsyncIterable<T>): AsyncGenerator<T[]> {
  for await (const item of source) yield [item];
}
