import { randomBytes, randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "nats";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, silentLogger, sleep, waitFor } from "../../../test/support/event-test-support.js";
import type { DeliveredEvent, PublishedEvent } from "./event-bus.js";
import { createJetStreamBus, type JetStreamBus, MSG_ID_HEADER, streamNameFor } from "./jetstream-bus.js";

function event(subject: string, n: number, id: string = randomUUID()): PublishedEvent {
  return {
    id,
    type: "ecommerce.test.v1.Thing",
    subject,
    payload: new Uint8Array([n, 0, 255]),
    occurredAt: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, n)),
  };
}

describe("jetstream-bus naming", () => {
  it("derives a valid stream name and rejects bad namespaces", () => {
    expect(streamNameFor("ecommerce")).toBe("ecommerce_events");
    expect(streamNameFor("shop.eu")).toBe("shop_eu_events");
    expect(() =>
      createJetStreamBus({ url: "nats://127.0.0.1:1", namespace: "a b", logger: silentLogger }),
    ).toThrow(/namespace/);
  });
});

describe("jetstream-bus without a server", () => {
  it("starts anyway; ping and publish reject quickly while NATS is unreachable", async () => {
    const port = await freePort();
    const bus = createJetStreamBus({
      url: `nats://127.0.0.1:${port}`,
      namespace: "nobody",
      logger: silentLogger,
    });
    try {
      const started = Date.now();
      await expect(bus.ping()).rejects.toThrow(/not connected/);
      await expect(bus.publish(event("a.b", 1))).rejects.toThrow(/not connected/);
      // Subscribing works offline too; it attaches once NATS is there.
      const sub = await bus.subscribe({ subjects: ["a.>"], durableName: "g", handler: async () => {} });
      await sub.stop();
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await bus.close();
    }
  });
});

describe("jetstream-bus logs", () => {
  it("never shows the credentials of its NATS URL", async () => {
    const port = await freePort();
    const lines: string[] = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(line) });
    const bus = createJetStreamBus({
      url: `nats://alice:s3cret-password@127.0.0.1:${port}`,
      namespace: "nobody",
      logger,
    });
    try {
      const deadline = Date.now() + 5_000;
      while (!lines.some((line) => line.includes("NATS unreachable")) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const text = lines.join("");
      expect(text).toContain("NATS unreachable");
      expect(text).toContain(`nats://***@127.0.0.1:${port}`);
      expect(text).not.toContain("s3cret-password");
      expect(text).not.toContain("alice");
    } finally {
      await bus.close();
    }
  });
});

describe.skipIf(!process.env.NATS_URL)("jetstream-bus on NATS", () => {
  const url = process.env.NATS_URL as string;
  const namespace = `evtest_${randomBytes(5).toString("hex")}`;
  let bus: JetStreamBus;
  let nc: NatsConnection;

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
    if (nc) {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete(bus.streamName).catch(() => {});
      await nc.close();
    }
  });

  async function streamMessages(): Promise<Array<{ subject: string; msgId: string }>> {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(bus.streamName);
    const out: Array<{ subject: string; msgId: string }> = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(bus.streamName, { seq });
      out.push({ subject: m.subject, msgId: m.header.get(MSG_ID_HEADER) });
    }
    return out;
  }

  it("creates the stream over <namespace>.> with a duplicate window of at least 2 minutes", async () => {
    await bus.ping();
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(bus.streamName);
    expect(info.config.subjects).toEqual([`${namespace}.>`]);
    expect(info.config.storage).toBe("file");
    expect(info.config.duplicate_window).toBeGreaterThanOrEqual(120 * 1e9);
  });

  it("drops a second publish of the same event id", async () => {
    const before = (await streamMessages()).length;
    const e = event("dedup.thing.created", 1);
    await bus.publish(e);
    await bus.publish({ ...e });
    // A second bus (another process) publishing it again changes nothing either.
    const other = createJetStreamBus({ url, namespace, logger: silentLogger });
    await other.ready();
    await other.publish(e);
    await other.close();
    const messages = await streamMessages();
    expect(messages.length - before).toBe(1);
    expect(messages.at(-1)).toEqual({ subject: `${namespace}.dedup.thing.created`, msgId: e.id });
  });

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

  it("redelivers after a handler throws, marked redelivered", async () => {
    const deliveries: DeliveredEvent[] = [];
    const sub = await bus.subscribe({
      subjects: ["retry.>"],
      durableName: "retrier",
      handler: async (e) => {
        deliveries.push(e);
        if (e.deliveryCount < 3) throw new Error("not yet");
      },
    });
    const e = event("retry.thing.created", 1);
    await bus.publish(e);
    await waitFor("third delivery", () => deliveries.length >= 3);
    await sleep(300);
    await sub.stop();
    expect(deliveries.map((d) => [d.id, d.deliveryCount, d.redelivered])).toEqual([
      [e.id, 1, false],
      [e.id, 2, true],
      [e.id, 3, true],
    ]);
  });

  it("hands a poison event to onPoison after maxDeliveries and moves on", async () => {
    const poisoned: DeliveredEvent[] = [];
    const handled: string[] = [];
    let attempts = 0;
    const bad = event("poison.thing.created", 1);
    const good = event("poison.thing.created", 2);
    const sub = await bus.subscribe({
      subjects: ["poison.>"],
      durableName: "poisoned",
      maxDeliveries: 3,
      onPoison: (e) => {
        poisoned.push(e);
      },
      handler: async (e) => {
        if (e.id === bad.id) {
          attempts++;
          throw new Error("cannot handle");
        }
        handled.push(e.id);
      },
    });
    await bus.publish(bad);
    await bus.publish(good);
    await waitFor("poison", () => poisoned.length === 1 && handled.length === 1);
    await sleep(500); // terminated: never delivered again
    await sub.stop();
    expect(attempts).toBe(3);
    expect(poisoned[0]?.id).toBe(bad.id);
    expect(poisoned[0]?.deliveryCount).toBe(3);
    expect(handled).toEqual([good.id]);
  });

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

  it("keeps an event whose onPoison throws and delivers it again", async () => {
    const poisonCalls: number[] = [];
    const handled: number[] = [];
    const sub = await bus.subscribe({
      subjects: ["keep.>"],
      durableName: "keeper",
      maxDeliveries: 2,
      onPoison: (e) => {
        poisonCalls.push(e.deliveryCount);
        throw new Error("cannot park it now");
      },
      handler: async (e) => {
        if (e.deliveryCount < 3) throw new Error("outage");
        handled.push(e.deliveryCount);
      },
    });
    await bus.publish(event("keep.thing.created", 1));
    await waitFor("handled after the outage", () => handled.length === 1);
    await sub.stop();
    expect(poisonCalls).toEqual([2]);
    expect(handled).toEqual([3]);
  });

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

  it("hands each event of a failed batch to handler on its own, so only the failing one is retried", async () => {
    const gate = event("batchfail.thing.created", 0);
    const bad = event("batchfail.thing.created", 1);
    const goods = Array.from({ length: 8 }, (_, i) => event("batchfail.thing.created", i + 2));
    let release: () => void = () => {};
    const gateHeld = new Promise<void>((resolve) => {
      release = resolve;
    });
    const failedBatches: number[] = [];
    const handled = new Map<string, number>();
    const sub = await bus.subscribe({
      subjects: ["batchfail.>"],
      durableName: "batchfailer",
      handler: async (e) => {
        handled.set(e.id, (handled.get(e.id) ?? 0) + 1);
        if (e.id === gate.id) await gateHeld;
        if (e.id === bad.id && e.deliveryCount < 2) throw new Error("not yet");
      },
      batchHandler: async (batch) => {
        if (batch.some((e) => e.id === bad.id)) {
          failedBatches.push(batch.length);
          throw new Error("one of these fails");
        }
      },
    });
    await bus.publish(gate);
    await waitFor("gate held", () => handled.has(gate.id));
    for (const e of [bad, ...goods]) await bus.publish(e);
    await sleep(200);
    release();
    await waitFor("bad event redelivered", () => (handled.get(bad.id) ?? 0) >= 2);
    await waitFor("all acknowledged", async () => (await sub.pending()) === 0);
    await sub.stop();
    expect(failedBatches).toEqual([9]);
    expect(handled.get(bad.id)).toBe(2);
    for (const e of goods) expect(handled.get(e.id)).toBe(1);
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

describe.skipIf(!process.env.NATS_URL)("jetstream-bus lag", () => {
  it("reports events not yet acknowledged by a durable group, then zero once handled", async () => {
    const namespace = `evlag_${randomBytes(5).toString("hex")}`;
    const bus = createJetStreamBus({ url: process.env.NATS_URL as string, namespace, logger: silentLogger });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let handled = 0;
    try {
      await bus.ready();
      for (let n = 0; n < 5; n++) await bus.publish(event("lag.thing", n));
      const subscription = await bus.subscribe({
        subjects: ["lag.>"],
        durableName: "lagging",
        handler: async () => {
          await gate;
          handled++;
        },
      });
      await waitFor(
        "the consumer to exist and report 5",
        async () => (await subscription.pending().catch(() => -1)) === 5,
      );
      release();
      await waitFor("all 5 handled", () => handled === 5);
      await waitFor("lag back to 0", async () => (await subscription.pending()) === 0);
      await subscription.stop();
    } finally {
      const nc = await connect({ servers: process.env.NATS_URL });
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete(streamNameFor(namespace)).catch(() => {});
      await nc.close();
      await bus.close();
    }
  });
});

describe.skipIf(!process.env.NATS_URL)("jetstream-bus retention", () => {
  it("keeps events for good by default, so projections can be rebuilt from the stream", async () => {
    const namespace = `evkeep_${randomBytes(5).toString("hex")}`;
    const bus = createJetStreamBus({ url: process.env.NATS_URL as string, namespace, logger: silentLogger });
    const nc = await connect({ servers: process.env.NATS_URL });
    try {
      await bus.ready();
      await bus.publish(event("keep.thing", 1));
      const info = await (await nc.jetstreamManager()).streams.info(streamNameFor(namespace));
      expect(info.config.max_age).toBe(0);
    } finally {
      await (await nc.jetstreamManager()).streams.delete(streamNameFor(namespace)).catch(() => {});
      await nc.close();
      await bus.close();
    }
  });
});
