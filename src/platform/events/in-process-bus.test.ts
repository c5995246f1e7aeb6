import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sleep, waitFor } from "../../../test/support/event-test-support.js";
import type { DeliveredEvent, EventBus, PublishedEvent } from "./event-bus.js";
import { subjectMatches } from "./event-bus.js";
import { createInProcessBus } from "./in-process-bus.js";

function event(subject: string, n: number): PublishedEvent {
  return {
    id: randomUUID(),
    type: "test.v1.Thing",
    subject,
    payload: new Uint8Array([n]),
    occurredAt: new Date(),
  };
}

const fastRetry = { initialDelayMs: 5, maxDelayMs: 20 };

async function withBus(fn: (bus: EventBus) => Promise<void>) {
  const bus = createInProcessBus({ retry: fastRetry });
  try {
    await fn(bus);
  } finally {
    await bus.close();
  }
}

describe("subjectMatches", () => {
  it("follows NATS wildcard rules", () => {
    expect(subjectMatches("a.b.c", "a.b.c")).toBe(true);
    expect(subjectMatches("a.*.c", "a.b.c")).toBe(true);
    expect(subjectMatches("a.*", "a.b.c")).toBe(false);
    expect(subjectMatches("a.>", "a.b.c")).toBe(true);
    expect(subjectMatches("a.>", "a")).toBe(false);
    expect(subjectMatches("a.b", "a.b.c")).toBe(false);
    expect(subjectMatches("a.b.c", "a.b")).toBe(false);
  });
});

describe("in-process event bus delivery by subject", () => {
  it("delivers asynchronously, never inside publish's call stack", async () => {
    await withBus(async (bus) => {
      const seen: string[] = [];
      await bus.subscribe({
        subjects: ["inventory.>"],
        handler: async (e) => {
          seen.push(e.id);
        },
      });
      const e = event("inventory.product.created", 1);
      await bus.publish(e);
      await Promise.resolve();
      expect(seen).toEqual([]); // not yet: delivery happens on a later turn
      await waitFor("delivery", () => seen.length === 1);
      expect(seen).toEqual([e.id]);
    });
  });

  it("preserves publish order per subscriber and filters by subject", async () => {
    await withBus(async (bus) => {
      const a: number[] = [];
      const b: number[] = [];
      await bus.subscribe({
        subjects: ["inventory.product.*"],
        handler: async (e) => {
          // Uneven handler times must not reorder anything.
          if ((e.payload[0] as number) % 3 === 0) await sleep(2);
          a.push(e.payload[0] as number);
        },
      });
      await bus.subscribe({
        subjects: ["orders.>"],
        handler: async (e) => {
          b.push(e.payload[0] as number);
        },
      });
      for (let i = 0; i < 50; i++)
        await bus.publish(event(i % 2 ? "orders.order.created" : "inventory.product.updated", i));
      await waitFor("all deliveries", () => a.length === 25 && b.length === 25);
      expect(a).toEqual(Array.from({ length: 25 }, (_, i) => i * 2));
      expect(b).toEqual(Array.from({ length: 25 }, (_, i) => i * 2 + 1));
    });
  });

  it("gives every subscriber its own copy of the payload", async () => {
    await withBus(async (bus) => {
      const payloads: Uint8Array[] = [];
      for (let i = 0; i < 2; i++) {
        await bus.subscribe({
          subjects: ["a.>"],
          handler: async (e) => {
            payloads.push(e.payload);
            e.payload[0] = 99;
          },
        });
      }
      const e = event("a.b", 7);
      await bus.publish(e);
      await waitFor("both", () => payloads.length === 2);
      expect(e.payload[0]).toBe(7);
      expect(payloads[0]).not.toBe(payloads[1]);
    });
  });

  it("rejects invalid subjects", async () => {
    await withBus(async (bus) => {
      await expect(bus.publish(event("a.*", 1))).rejects.toThrow(/invalid event subject/);
      await expect(bus.publish(event("a..b", 1))).rejects.toThrow(/invalid event subject/);
      await expect(bus.subscribe({ subjects: ["a.>.b"], handler: async () => {} })).rejects.toThrow(
        /invalid event subject/,
      );
    });
  });
});

describe("in-process event bus retries and poison events", () => {
  it("retries a throwing handler with redelivered=true before moving on, keeping order", async () => {
    await withBus(async (bus) => {
      const deliveries: DeliveredEvent[] = [];
      let failuresLeft = 3;
      await bus.subscribe({
        subjects: ["x.>"],
        handler: async (e) => {
          deliveries.push(e);
          if (e.payload[0] === 1 && failuresLeft-- > 0) throw new Error("boom");
        },
      });
      await bus.publish(event("x.y", 1));
      await bus.publish(event("x.y", 2));
      await waitFor("deliveries", () => deliveries.length === 5);
      expect(deliveries.map((d) => [d.payload[0], d.deliveryCount, d.redelivered])).toEqual([
        [1, 1, false],
        [1, 2, true],
        [1, 3, true],
        [1, 4, true],
        [2, 1, false],
      ]);
    });
  });

  it("hands an event that keeps failing to onPoison after maxDeliveries and moves on", async () => {
    await withBus(async (bus) => {
      const poisoned: Array<[number, unknown]> = [];
      const handled: number[] = [];
      await bus.subscribe({
        subjects: ["x.>"],
        maxDeliveries: 3,
        onPoison: (e, error) => {
          poisoned.push([e.deliveryCount, (error as Error).message]);
        },
        handler: async (e) => {
          if (e.payload[0] === 1) throw new Error("always");
          handled.push(e.payload[0] as number);
        },
      });
      await bus.publish(event("x.y", 1));
      await bus.publish(event("x.y", 2));
      await waitFor("the next event", () => handled.length === 1);
      expect(poisoned).toEqual([[3, "always"]]);
      expect(handled).toEqual([2]);
    });
  });
});

describe("in-process event bus when onPoison throws", () => {
  it("keeps an event whose onPoison throws and delivers it again, on publish and on deliver", async () => {
    const bus = createInProcessBus({ retry: fastRetry });
    try {
      const poisonCalls: number[] = [];
      const handled: number[] = [];
      let outage = true;
      await bus.subscribe({
        subjects: ["keep.>"],
        durableName: "keeper",
        maxDeliveries: 2,
        onPoison: (e) => {
          poisonCalls.push(e.payload[0] as number);
          outage = false; // the outage ends as the event is given up on
          throw new Error("cannot park it now");
        },
        handler: async (e) => {
          if (outage) throw new Error("outage");
          handled.push(e.payload[0] as number);
        },
      });
      await bus.publish(event("keep.a", 1));
      await waitFor("handled after the outage", () => handled.length === 1);
      // Through deliver (the relay's path): the refused poisoning rejects, so the row stays.
      outage = true;
      const delivered = event("keep.b", 2);
      await expect(bus.deliver(delivered)).rejects.toThrow("outage");
      await expect(bus.deliver(delivered)).rejects.toThrow("outage"); // second failure: onPoison refuses
      await bus.deliver(delivered);
      expect(poisonCalls).toEqual([1, 2]);
      expect(handled).toEqual([1, 2]);
    } finally {
      await bus.close();
    }
  });
});

describe("in-process event bus durable groups", () => {
  it("delivers each event to one member of a durable group, and to every plain subscriber", async () => {
    await withBus(async (bus) => {
      const members: number[][] = [[], [], []];
      for (const seen of members) {
        await bus.subscribe({
          subjects: ["orders.>"],
          durableName: "statistics",
          handler: async (e) => {
            seen.push(e.payload[0] as number);
          },
        });
      }
      const solo: number[] = [];
      await bus.subscribe({
        subjects: ["orders.>"],
        handler: async (e) => {
          solo.push(e.payload[0] as number);
        },
      });
      for (let i = 0; i < 30; i++) await bus.publish(event("orders.order.created", i));
      await waitFor("deliveries", () => solo.length === 30 && members.flat().length === 30);
      await sleep(20);
      const all = members.flat().sort((x, y) => x - y);
      expect(all).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(members.every((seen) => seen.length > 0)).toBe(true);
      expect(solo).toHaveLength(30);
    });
  });

  it("keeps a durable group's events while it has no member", async () => {
    await withBus(async (bus) => {
      const first: number[] = [];
      const sub = await bus.subscribe({
        subjects: ["a.>"],
        durableName: "g",
        handler: async (e) => {
          first.push(e.payload[0] as number);
        },
      });
      await bus.publish(event("a.b", 1));
      await waitFor("first", () => first.length === 1);
      await sub.stop();
      await bus.publish(event("a.b", 2));
      await bus.publish(event("a.b", 3));
      await sleep(10);
      const second: number[] = [];
      await bus.subscribe({
        subjects: ["a.>"],
        durableName: "g",
        handler: async (e) => {
          second.push(e.payload[0] as number);
        },
      });
      await waitFor("second", () => second.length === 2);
      expect(first).toEqual([1]);
      expect(second).toEqual([2, 3]);
    });
  });
});

describe("in-process event bus stopping and closing", () => {
  it("stop() waits for the handler in flight and delivers nothing afterwards", async () => {
    await withBus(async (bus) => {
      let finished = 0;
      let started = 0;
      const sub = await bus.subscribe({
        subjects: ["a.>"],
        handler: async () => {
          started++;
          await sleep(50);
          finished++;
        },
      });
      await bus.publish(event("a.b", 1));
      await bus.publish(event("a.b", 2));
      await waitFor("start", () => started === 1);
      await sub.stop();
      expect(finished).toBe(1);
      await sleep(80);
      expect(started).toBe(1);
    });
  });

  it("rejects publishes after close", async () => {
    const bus = createInProcessBus();
    await bus.ping();
    await bus.close();
    await expect(bus.publish(event("a.b", 1))).rejects.toThrow(/closed/);
    await expect(bus.ping()).rejects.toThrow(/closed/);
  });
});

describe("in-process bus lag", () => {
  it("reports events not yet acknowledged, the one in flight included", async () => {
    const bus = createInProcessBus();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handled: string[] = [];
    const subscription = await bus.subscribe({
      subjects: ["lag.>"],
      durableName: "lag-group",
      handler: async (event) => {
        await gate;
        handled.push(event.id);
      },
    });
    for (const id of ["a", "b", "c"]) {
      await bus.publish({
        id,
        type: "t",
        subject: "lag.event",
        payload: new Uint8Array(),
        occurredAt: new Date(),
      });
    }
    expect(await subscription.pending()).toBe(3);
    release();
    for (let tries = 0; tries < 100 && handled.length < 3; tries++)
      await new Promise((r) => setTimeout(r, 5));
    expect(handled).toEqual(["a", "b", "c"]);
    expect(await subscription.pending()).toBe(0);
    await bus.close();
  });
});
