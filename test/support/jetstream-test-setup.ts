/**
 * Test setup for the JetStream bus suites (not a test file itself): the events they publish, what
 * a stream stores, and a bus on the machine's NATS (NATS_URL) with a stream of its own.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { connect, type JetStreamManager, type NatsConnection } from "nats";
import { afterAll, beforeAll } from "vitest";
import type { PublishedEvent } from "../../src/platform/events/event-bus.js";
import {
  createJetStreamBus,
  type JetStreamBus,
  MSG_ID_HEADER,
} from "../../src/platform/events/jetstream-bus.js";
import { silentLogger } from "./event-test-support.js";

/** Event `n` on `subject`: its number is the first payload byte and the milliseconds of its time. */
export function event(subject: string, n: number, id: string = randomUUID()): PublishedEvent {
  return {
    id,
    type: "ecommerce.test.v1.Thing",
    subject,
    payload: new Uint8Array([n, 0, 255]),
    occurredAt: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, n)),
  };
}

export interface StoredMessage {
  subject: string;
  msgId: string;
}

/** Every message `stream` stores, in order, and their count as the stream reports it. */
export async function storedMessages(
  jsm: JetStreamManager,
  stream: string,
): Promise<{ total: number; messages: StoredMessage[] }> {
  const info = await jsm.streams.info(stream);
  const messages: StoredMessage[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    messages.push({ subject: m.subject, msgId: m.header.get(MSG_ID_HEADER) });
  }
  return { total: info.state.messages, messages };
}

export interface JetStreamTestBus {
  readonly url: string;
  /** A namespace of this suite alone, so its stream is its own. */
  readonly namespace: string;
  /** The bus under test, ready from the suite's first test on. */
  readonly bus: JetStreamBus;
  /** A connection of its own to the same NATS, to look at the stream from outside the bus. */
  readonly nc: NatsConnection;
  /** What the bus's stream stores so far, in order. */
  streamMessages(): Promise<StoredMessage[]>;
}

/**
 * A bus on NATS_URL for the enclosing suite (or test file): created before its first test, closed
 * after its last, with its stream deleted.
 */
export function useJetStreamBus(): JetStreamTestBus {
  const url = process.env.NATS_URL as string;
  const namespace = `evtest_${randomBytes(5).toString("hex")}`;
  let bus: JetStreamBus | undefined;
  let nc: NatsConnection | undefined;

  beforeAll(async () => {
    bus = createJetStreamBus({
      url,
      namespace,
      logger: silentLogger,
      retry: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    await bus.ready();
    nc = await connect({ servers: url });
  });

  afterAll(async () => {
    await bus?.close();
    if (bus && nc) {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete(bus.streamName).catch(() => {});
      await nc.close();
    }
  });

  function started<T>(value: T | undefined): T {
    if (value === undefined) throw new Error("the JetStream bus is set up in beforeAll");
    return value;
  }

  return {
    url,
    namespace,
    get bus() {
      return started(bus);
    },
    get nc() {
      return started(nc);
    },
    async streamMessages() {
      const jsm = await started(nc).jetstreamManager();
      return (await storedMessages(jsm, started(bus).streamName)).messages;
    },
  };
}
