/**
 * The WatchOrders hub (order-watch.ts) on the in-process bus: it subscribes only while someone
 * watches, fans every order event out to every watcher in order, ends a watcher that falls too far
 * behind with resource_exhausted without holding up the others, and ends every watch when closed.
 */
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger, waitFor } from "../../../test/support/event-test-support.js";
import { OrderCreatedSchema, OrderStatusChangedSchema } from "../../gen/ecommerce/orders/v1/events_pb.js";
import { OrderStatus } from "../../gen/ecommerce/orders/v1/order_pb.js";
import type { EventBus, Subscription } from "../../platform/events/index.js";
import { createInProcessBus } from "../../platform/events/index.js";
import { ORDER_SUBJECTS, type OrderEvent } from "./order-events.js";
import { OrderWatch } from "./order-watch.js";

/** The in-process bus, counting the subscriptions made and those still open. */
function countingBus() {
  const inner = createInProcessBus();
  const counts = { made: 0, open: 0 };
  const bus: EventBus = {
    publish: (event) => inner.publish(event),
    ping: () => inner.ping(),
    close: () => inner.close(),
    async subscribe(options) {
      const subscription = await inner.subscribe(options);
      counts.made++;
      counts.open++;
      let stopped = false;
      const counted: Subscription = {
        async stop() {
          if (!stopped) counts.open--;
          stopped = true;
          await subscription.stop();
        },
        pending: () => subscription.pending(),
      };
      return counted;
    },
  };
  return { bus, counts };
}

function created(orderId: string): { subject: string; payload: Uint8Array } {
  const message = create(OrderCreatedSchema, {
    orderId,
    userId: "customer-1",
    status: OrderStatus.PENDING,
    subtotalCents: 1000n,
    totalCents: 1000n,
    itemCount: 1,
    createdAt: timestampFromDate(new Date()),
  });
  return { subject: ORDER_SUBJECTS.created, payload: toBinary(OrderCreatedSchema, message) };
}

function paid(orderId: string): { subject: string; payload: Uint8Array } {
  const message = create(OrderStatusChangedSchema, {
    orderId,
    userId: "customer-1",
    from: OrderStatus.PENDING,
    to: OrderStatus.PAID,
    totalCents: 1000n,
  });
  return { subject: ORDER_SUBJECTS.statusChanged, payload: toBinary(OrderStatusChangedSchema, message) };
}

/** What a watcher got, as "created <id>" / "statusChanged <id>". */
const label = (event: OrderEvent) => `${event.case} ${event.value.orderId}`;

/** Reads `count` events from `iterator`, failing after two seconds. */
async function take(iterator: AsyncIterator<OrderEvent>, count: number): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + 2_000;
  while (seen.length < count) {
    const next = await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`only ${seen.length} of ${count} events`)), deadline - Date.now()),
      ),
    ]);
    if (next.done) throw new Error(`the watch ended after ${seen.length} of ${count} events`);
    seen.push(label(next.value));
  }
  return seen;
}

describe("OrderWatch", () => {
  let bus: EventBus;
  let counts: { made: number; open: number };
  let watch: OrderWatch;
  const publish = (event: { subject: string; payload: Uint8Array }) =>
    bus.publish({ id: randomUUID(), type: "test", occurredAt: new Date(), ...event });

  beforeEach(() => {
    ({ bus, counts } = countingBus());
    watch = new OrderWatch({ bus, logger: silentLogger, queueLimit: 3 });
  });
  afterEach(async () => {
    await watch.close();
    await bus.close();
  });

  it("subscribes with the first watcher and stops the subscription when the last one leaves", async () => {
    expect(counts).toEqual({ made: 0, open: 0 });
    const first = new AbortController();
    const second = new AbortController();
    await watch.open(first.signal);
    await watch.open(second.signal);
    expect(counts).toEqual({ made: 1, open: 1 });

    first.abort();
    expect(watch.watching).toBe(1);
    expect(counts.open).toBe(1);
    second.abort();
    expect(watch.watching).toBe(0);
    await waitFor("the subscription to stop", () => counts.open === 0, 2_000);

    // Watching again subscribes again.
    const third = (await watch.open(new AbortController().signal))[Symbol.asyncIterator]();
    expect(counts).toEqual({ made: 2, open: 1 });
    // A reader that stops reading leaves too.
    await publish(created("o-1"));
    expect(await take(third, 1)).toEqual(["created o-1"]);
    await third.return?.(undefined);
    await waitFor("the subscription to stop", () => counts.open === 0, 2_000);
  });

  it("does not keep a subscription for a watcher whose caller left while it was being made", async () => {
    const gone = new AbortController();
    gone.abort();
    const watcher = await watch.open(gone.signal);
    expect(watcher.isEnded).toBe(true);
    expect(counts.made).toBe(0);
    await waitFor("the subscription to stop", () => counts.open === 0, 2_000);
  });

  it("hands every order event to every watcher, in order, from the moment each joined", async () => {
    const early = (await watch.open(new AbortController().signal))[Symbol.asyncIterator]();
    await publish(created("o-1"));
    expect(await take(early, 1)).toEqual(["created o-1"]);

    const late = (await watch.open(new AbortController().signal))[Symbol.asyncIterator]();
    await publish(paid("o-1"));
    await publish(created("o-2"));
    // Not an order event, and an unreadable one: neither reaches a watcher, nor stops the others.
    await publish({ subject: "orders.order.archived", payload: new Uint8Array([1]) });
    await publish({ subject: ORDER_SUBJECTS.created, payload: new Uint8Array([0xff, 0xff]) });
    await publish(paid("o-2"));

    expect(await take(early, 3)).toEqual(["statusChanged o-1", "created o-2", "statusChanged o-2"]);
    expect(await take(late, 3)).toEqual(["statusChanged o-1", "created o-2", "statusChanged o-2"]);
    expect(counts.made).toBe(1);
  });

  it("ends a watcher that falls more than its queue behind with resource_exhausted; the others go on", async () => {
    const slow = (await watch.open(new AbortController().signal))[Symbol.asyncIterator]();
    const keen = (await watch.open(new AbortController().signal))[Symbol.asyncIterator]();
    const keenSaw: string[] = [];
    for (let i = 1; i <= 4; i++) {
      await publish(created(`o-${i}`));
      keenSaw.push(...(await take(keen, 1)));
    }
    expect(keenSaw).toEqual(["created o-1", "created o-2", "created o-3", "created o-4"]);
    expect(watch.watching).toBe(1);

    const error = await slow.next().then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.ResourceExhausted);
    await publish(created("o-5"));
    expect(await take(keen, 1)).toEqual(["created o-5"]);
  });

  it("ends every watch cleanly when closed, stops the subscription, and refuses new watches", async () => {
    const watchers = await Promise.all([0, 1].map(() => watch.open(new AbortController().signal)));
    const reading = watchers.map(async (watcher) => {
      const seen: OrderEvent[] = [];
      for await (const event of watcher) seen.push(event);
      return seen;
    });
    await watch.close();
    expect(await Promise.all(reading)).toEqual([[], []]);
    expect(counts.open).toBe(0);
    const refusal = await watch.open(new AbortController().signal).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect((refusal as ConnectError).code).toBe(Code.Unavailable);
  });
});
