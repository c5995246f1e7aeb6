import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "nats";
import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { freePort, silentLogger, waitFor } from "../../../test/support/event-test-support.js";
import { event, useJetStreamBus } from "../../../test/support/jetstream-test-setup.js";
import { createJetStreamBus, type JetStreamBus, streamNameFor } from "./jetstream-bus.js";

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

describe.skipIf(!process.env.NATS_URL)("jetstream-bus stream on NATS", () => {
  const nats = useJetStreamBus();
  const { url, namespace, streamMessages } = nats;
  let bus: JetStreamBus;
  let nc: NatsConnection;
  beforeAll(() => {
    bus = nats.bus;
    nc = nats.nc;
  });

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
