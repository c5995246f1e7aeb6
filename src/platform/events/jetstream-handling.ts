/**
 * What a pull consumer does with the messages it receives: hands them to the subscription's
 * handler (or its batch handler), acknowledges what was handled, asks for a later redelivery with
 * backoff when a handler throws (`nak` with a delay), and terminates what was poisoned or cannot
 * be read. While a handler runs, the broker is told the messages are being worked on.
 */
import type { JsMsg } from "nats";
import type { Logger } from "../logger.js";
import {
  type DeliveredEvent,
  givenUp,
  type RetryOptions,
  redeliveryDelay,
  type SubscribeOptions,
} from "./event-bus.js";
import { toDeliveredEvent } from "./jetstream-message.js";

export interface MessageHandling {
  readonly subscribeOptions: SubscribeOptions;
  readonly subjectPrefix: string;
  readonly retry: RetryOptions | undefined;
  /** The consumer's ack wait: how long a message may stay unacknowledged before it is redelivered. */
  readonly ackWaitMs: number;
  readonly log: Logger;
}

/** Handles one message: ack, term after poisoning, or nak with the redelivery delay. */
export async function handleMessage(msg: JsMsg, handling: MessageHandling): Promise<void> {
  const { log } = handling;
  let event: DeliveredEvent;
  try {
    event = toDeliveredEvent(msg, handling.subjectPrefix);
  } catch (error) {
    // Nothing a handler could be given: redelivering would fail the same way.
    log.error({ err: error, subject: msg.subject, seq: msg.seq }, "unreadable JetStream message dropped");
    msg.term();
    return;
  }
  const stopKeepingAlive = keepWorking([msg], handling.ackWaitMs);
  try {
    await handling.subscribeOptions.handler(event);
    msg.ack();
  } catch (error) {
    if (await givenUp(handling.subscribeOptions, event, error, log)) {
      msg.term();
    } else {
      const delayMs = redeliveryDelay(handling.retry, event.deliveryCount);
      const { id: eventId, subject, deliveryCount } = event;
      log.warn(
        { err: error, eventId, subject, deliveryCount, delayMs },
        "event handler failed; redelivering",
      );
      msg.nak(delayMs);
    }
  } finally {
    stopKeepingAlive();
  }
}

/**
 * Handles messages that arrived together in one call of the subscription's batch handler and acks
 * them all, or — when it throws — each one on its own through {@link handleMessage}.
 */
export async function handleBatch(batch: readonly JsMsg[], handling: MessageHandling): Promise<void> {
  const { batchHandler } = handling.subscribeOptions;
  if (batch.length === 1 || batchHandler === undefined) {
    for (const msg of batch) await handleMessage(msg, handling);
    return;
  }
  const stopKeepingAlive = keepWorking(batch, handling.ackWaitMs);
  try {
    const events = batch.map((msg) => toDeliveredEvent(msg, handling.subjectPrefix));
    await batchHandler(events);
  } catch (error) {
    handling.log.debug(
      { err: error, events: batch.length },
      "batch handler failed; handling its events one by one",
    );
    for (const msg of batch) await handleMessage(msg, handling);
    return;
  } finally {
    stopKeepingAlive();
  }
  for (const msg of batch) msg.ack();
}

/** Tells the broker the messages are being worked on, so a slow handler's are not redelivered meanwhile. */
function keepWorking(msgs: readonly JsMsg[], ackWaitMs: number): () => void {
  const timer = setInterval(
    () => {
      for (const msg of msgs) msg.working();
    },
    Math.max(1_000, ackWaitMs / 3),
  );
  return () => clearInterval(timer);
}
