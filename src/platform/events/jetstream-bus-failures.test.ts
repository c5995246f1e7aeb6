import { beforeAll, describe, expect, it } from "vitest";
import { sleep, waitFor } from "../../../test/support/event-test-support.js";
import { event, useJetStreamBus } from "../../../test/support/jetstream-test-setup.js";
import type { DeliveredEvent } from "./event-bus.js";
import type { JetStreamBus } from "./jetstream-bus.js";

// One bus and stream for all the suites of this file; vitest skips these hooks when NATS_URL is
// unset, as every suite is skipped then.
const nats = useJetStreamBus();
let bus: JetStreamBus;
beforeAll(() => {
  bus = nats.bus;
});

describe.skipIf(!process.env.NATS_URL)("jetstream-bus retries on NATS", () => {
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
});

describe.skipIf(!process.env.NATS_URL)("jetstream-bus poison events on NATS", () => {
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
});
