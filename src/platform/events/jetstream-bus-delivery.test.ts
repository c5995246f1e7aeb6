import type { NatsConnection } from "nats";
import { beforeAll, describe, expect, it } from "vitest";
import { sleep, waitFor } from "../../../test/support/event-test-support.js";
import { event, useJetStreamBus } from "../../../test/support/jetstream-test-setup.js";
import type { DeliveredEvent, PublishedEvent } from "./event-bus.js";
import type { JetStreamBus } from "./jetstream-bus.js";

// One bus and stream for all the suites of this file; vitest skips these hooks when NATS_URL is
// unset, as every suite is skipped then.
const nats = useJetStreamBus();
let bus: JetStreamBus;
let nc: NatsConnection;
beforeAll(() => {
  bus = nats.bus;
  nc = nats.nc;
});

describe.skipIf(!process.env.NATS_URL)("jetstream-bus durable groups on NATS", () => {
  it("delivers every event to a durable consumer, with id, type, time and payload, in order", async () => {
    const events = Array.from({ length: 10 }, (_, i) => event(`durable.thing.n${i % 2}`, i));
    for (const e of events) await bus.publish(e);
    const seen: DeliveredEvent[] = [];
    const sub = await bus.subscribe({
      subjects: ["durable.>"],
      durableName: "reader",
      handler: async (e) => {
        seen.push(e);
      },
    });
    await waitFor("deliveries", () => seen.length >= 10);
    await sleep(200);
    await sub.stop();
    expect(seen.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(seen[3]).toMatchObject({
      subject: "durable.thing.n1",
      type: "ecommerce.test.v1.Thing",
      occurredAt: events[3]?.occurredAt,
      redelivered: false,
      deliveryCount: 1,
    });
    expect(seen[3]?.payload).toEqual(events[3]?.payload);

    // The group keeps its place: a later member only gets what came after.
    const later = event("durable.thing.n0", 42);
    await bus.publish(later);
    const next: DeliveredEvent[] = [];
    const again = await bus.subscribe({
      subjects: ["durable.>"],
      durableName: "reader",
      handler: async (e) => {
        next.push(e);
      },
    });
    await waitFor("the later event", () => next.length >= 1);
    await sleep(200);
    await again.stop();
    expect(next.map((e) => e.id)).toEqual([later.id]);
  });

  it("shares a durable group's events between its members, each event once", async () => {
    const counts = new Map<string, number>();
    const perMember: [number, number] = [0, 0];
    const subs = await Promise.all(
      [0, 1].map((member) =>
        bus.subscribe({
          subjects: ["group.>"],
          durableName: "workers",
          handler: async (e) => {
            counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
            perMember[member as 0 | 1]++;
            await sleep(5);
          },
        }),
      ),
    );
    const events = Array.from({ length: 40 }, (_, i) => event("group.job.created", i));
    for (const e of events) await bus.publish(e);
    await waitFor("all handled", () => counts.size === 40);
    await sleep(300);
    await Promise.all(subs.map((s) => s.stop()));
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(perMember[0] + perMember[1]).toBe(40);
  });
});

describe.skipIf(!process.env.NATS_URL)("jetstream-bus subscription start points on NATS", () => {
  it("starts a new durable group at the next event with startAt now, at the stream's start by default", async () => {
    const before = event("startat.thing.updated", 1);
    await bus.publish(before);
    const fromNow: string[] = [];
    const fromStart: string[] = [];
    const now = await bus.subscribe({
      subjects: ["startat.>"],
      durableName: "from-now",
      startAt: "now",
      handler: async (e) => {
        fromNow.push(e.id);
      },
    });
    const start = await bus.subscribe({
      subjects: ["startat.>"],
      durableName: "from-start",
      handler: async (e) => {
        fromStart.push(e.id);
      },
    });
    await sleep(200); // both consumers exist before the next publish
    const after = event("startat.thing.updated", 2);
    await bus.publish(after);
    await waitFor("deliveries", () => fromNow.length >= 1 && fromStart.length >= 2);
    await sleep(200);
    await Promise.all([now.stop(), start.stop()]);
    expect(fromNow).toEqual([after.id]);
    expect(fromStart).toEqual([before.id, after.id]);
  });

  it("gives a plain (non-durable) subscriber everything published after subscribe()", async () => {
    await bus.publish(event("plain.thing.created", 0)); // before: not delivered
    await sleep(50); // start times have millisecond resolution
    const seen: number[] = [];
    const sub = await bus.subscribe({
      subjects: ["plain.thing.created", "plain.other.*"],
      handler: async (e) => {
        seen.push(e.payload[0] as number);
      },
    });
    await sleep(20);
    await bus.publish(event("plain.thing.created", 1));
    await bus.publish(event("plain.other.x", 2));
    await bus.publish(event("plain.ignored", 3));
    await waitFor("deliveries", () => seen.length >= 2);
    await sleep(300);
    await sub.stop();
    expect(seen.sort()).toEqual([1, 2]);
    // Its private consumers are removed when it stops.
    const jsm = await nc.jetstreamManager();
    const consumers = await jsm.consumers.list(bus.streamName).next();
    expect(consumers.filter((c) => c.name.includes("_sub_"))).toEqual([]);
  });
});

describe.skipIf(!process.env.NATS_URL)("jetstream-bus batches on NATS", () => {
  it("hands events that arrived while a batch was handled to batchHandler together, in order, and acks them", async () => {
    const batches: string[][] = [];
    const single: string[] = [];
    let release: () => void = () => {};
    const firstHeld = new Promise<void>((resolve) => {
      release = resolve;
    });
    const events = Array.from({ length: 40 }, (_, i) => event("batched.thing.created", i));
    const sub = await bus.subscribe({
      subjects: ["batched.>"],
      durableName: "batcher",
      maxBatch: 16,
      handler: async (e) => {
        single.push(e.id);
        if (single.length === 1) await firstHeld; // the rest arrives meanwhile
      },
      batchHandler: async (batch) => {
        batches.push(batch.map((e) => e.id));
      },
    });
    await bus.publish(events[0] as PublishedEvent);
    await waitFor("first event held", () => single.length === 1);
    for (const e of events.slice(1)) await bus.publish(e);
    await sleep(200);
    release();
    await waitFor("all handled", () => single.length + batches.flat().length >= events.length);
    await waitFor("all acknowledged", async () => (await sub.pending()) === 0);
    await sub.stop();
    expect(batches.length).toBeGreaterThan(0);
    expect(Math.max(...batches.map((batch) => batch.length))).toBe(16);
    // Every event once, in publication order, whichever way it went.
    const order = [...single.slice(0, 1), ...batches.flat(), ...single.slice(1)];
    expect(new Set(order).size).toBe(events.length);
    expect(batches.flat()).toEqual(events.map((e) => e.id).filter((id) => batches.flat().includes(id)));
  });
});
