/**
 * NATS going away and coming back, with a private nats-server (never the machine's shared one):
 * events committed while it is down are published once it is back, each exactly once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect } from "nats";
import { Registry } from "prom-client";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { usePglite } from "../../../test/support/database-test-setup.js";
import {
  createOutboxTable,
  findNatsServer,
  freePort,
  type NatsServerProcess,
  silentLogger,
  sleep,
  startNatsServer,
  waitFor,
} from "../../../test/support/event-test-support.js";
import { storedMessages } from "../../../test/support/jetstream-test-setup.js";
import type { Db } from "../db/database.js";
import { createJetStreamBus, type JetStreamBus } from "./jetstream-bus.js";
import { appendToOutbox } from "./outbox.js";
import { OutboxRelay } from "./outbox-relay.js";
import type { OutboxTable } from "./outbox-table.js";

const natsServer = findNatsServer();
// In CI (NATS_URL set) a missing binary must fail the suite, not skip it.
const skip = !natsServer && !process.env.NATS_URL;

/** Every message of the stream: total count and distinct Nats-Msg-Id values. */
async function readStream(url: string, stream: string): Promise<{ total: number; ids: string[] }> {
  const nc = await connect({ servers: url, timeout: 2_000 });
  try {
    const { total, messages } = await storedMessages(await nc.jetstreamManager(), stream);
    return { total, ids: messages.map((m) => m.msgId) };
  } finally {
    await nc.close();
  }
}

async function appendOneByOne(db: Db, table: OutboxTable, relay: OutboxRelay, count: number, label: string) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const [id] = await db.transaction((tx) =>
      appendToOutbox(tx, table, [
        { type: "ecommerce.test.v1.Thing", subject: `outage.${label}.created`, payload: new Uint8Array([i]) },
      ]),
    );
    ids.push(id as string);
    relay.wake();
  }
  return ids;
}

// Shared by the suites below, with the file's hooks (which vitest skips when every suite is skipped).
let storeDir: string;
let server: NatsServerProcess | undefined;
let bus: JetStreamBus | undefined;
let relay: OutboxRelay | undefined;
let schemas = 0;
const binary = natsServer as string;

beforeAll(() => {
  if (!natsServer) throw new Error("nats-server binary not found (set NATS_SERVER_BIN)");
});
const database = usePglite();

afterEach(async () => {
  await relay?.stop();
  await bus?.close();
  await server?.kill();
  relay = undefined;
  bus = undefined;
  server = undefined;
  if (storeDir) rmSync(storeDir, { recursive: true, force: true });
});

function startRelay(table: OutboxTable, metrics: Registry) {
  relay = new OutboxRelay({
    db: database.db,
    table,
    bus: bus as JetStreamBus,
    logger: silentLogger,
    name: "outage",
    pollIntervalMs: 200,
    maxBackoffMs: 1_000,
    metrics,
  });
  relay.start();
  return relay;
}

function failuresIn(text: string): number {
  return Number(/outbox_publish_failures_total\{outbox="outage"\} (\d+)/.exec(text)?.[1] ?? 0);
}

describe.skipIf(skip)("outbox → JetStream when nats-server restarts after an outage", () => {
  it("publishes events committed while nats-server is down, each exactly once, after it restarts", async () => {
    storeDir = mkdtempSync(path.join(tmpdir(), "ev-outage-"));
    const port = await freePort();
    server = await startNatsServer(binary, port, storeDir);
    const table = await createOutboxTable(database.db, `outage_${++schemas}`);
    const metrics = new Registry();
    bus = createJetStreamBus({
      url: server.url,
      namespace: "outage",
      logger: silentLogger,
      reconnectTimeWaitMs: 100,
      publishTimeoutMs: 1_000,
      retry: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    await bus.ready();
    // A durable subscriber rides through the outage as well.
    const handled = new Map<string, number>();
    const sub = await bus.subscribe({
      subjects: ["outage.>"],
      durableName: "watcher",
      handler: async (e) => {
        handled.set(e.id, (handled.get(e.id) ?? 0) + 1);
      },
    });
    const r = startRelay(table, metrics);

    const before = await appendOneByOne(database.db, table, r, 5, "before");
    await waitFor("events before the outage", async () => (await r.backlog()) === 0);

    await server.kill("SIGKILL");
    const during = await appendOneByOne(database.db, table, r, 20, "during");
    await waitFor("failed publish attempts", async () => failuresIn(await metrics.metrics()) >= 2, 5_000);
    await expect(bus.ping()).rejects.toThrow();
    expect(await r.backlog()).toBe(20);

    server = await startNatsServer(binary, port, storeDir);
    const restarted = Date.now();
    await waitFor("backlog drained after the restart", async () => (await r.backlog()) === 0, 10_000);
    expect(Date.now() - restarted).toBeLessThan(10_000);
    await bus.ping();

    const all = [...before, ...during];
    const stream = await readStream(server.url, bus.streamName);
    expect(stream.total).toBe(all.length);
    expect(new Set(stream.ids).size).toBe(all.length);
    expect([...stream.ids].sort()).toEqual([...all].sort());

    await waitFor("subscriber caught up", () => all.every((id) => handled.has(id)), 10_000);
    await sub.stop();
  });
});

describe.skipIf(skip)("outbox → JetStream when nats-server dies in the middle of a burst", () => {
  it("loses and repeats nothing when nats-server dies in the middle of a burst", async () => {
    storeDir = mkdtempSync(path.join(tmpdir(), "ev-outage-"));
    const port = await freePort();
    server = await startNatsServer(binary, port, storeDir);
    const table = await createOutboxTable(database.db, `outage_${++schemas}`);
    bus = createJetStreamBus({
      url: server.url,
      namespace: "burst",
      logger: silentLogger,
      reconnectTimeWaitMs: 100,
      publishTimeoutMs: 1_000,
    });
    await bus.ready();
    const r = startRelay(table, new Registry());
    const streamName = bus.streamName;
    const url = server.url;
    let inStream = 0;
    const writing = (async () => {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        ids.push(...(await appendOneByOne(database.db, table, r, 15, "burst")));
        await sleep(30);
      }
      return ids;
    })();
    await waitFor("publishing under way", async () => {
      inStream = (await readStream(url, streamName)).total;
      return inStream >= 30;
    });
    await server.kill("SIGKILL");
    await sleep(500);
    server = await startNatsServer(binary, port, storeDir);
    const ids = await writing;
    await waitFor("backlog drained", async () => (await r.backlog()) === 0, 10_000);
    const stream = await readStream(server.url, streamName);
    expect(inStream).toBeLessThan(ids.length); // the kill really hit the middle of it
    expect(stream.total).toBe(ids.length);
    expect([...stream.ids].sort()).toEqual([...ids].sort());
  });
});

describe.skipIf(skip)("outbox → JetStream when it starts while nats-server is down", () => {
  it("starts while nats-server is down and publishes everything once it comes up", async () => {
    storeDir = mkdtempSync(path.join(tmpdir(), "ev-outage-"));
    const port = await freePort();
    const table = await createOutboxTable(database.db, `outage_${++schemas}`);
    const metrics = new Registry();
    bus = createJetStreamBus({
      url: `nats://127.0.0.1:${port}`,
      namespace: "late",
      logger: silentLogger,
      reconnectTimeWaitMs: 100,
      publishTimeoutMs: 1_000,
    });
    const handled = new Set<string>();
    const sub = await bus.subscribe({
      subjects: ["outage.>"],
      durableName: "early-bird",
      handler: async (e) => {
        handled.add(e.id);
      },
    });
    const r = startRelay(table, metrics);
    const ids = await appendOneByOne(database.db, table, r, 20, "early");
    await waitFor("failed publish attempts", async () => failuresIn(await metrics.metrics()) >= 2, 5_000);
    await expect(bus.ping()).rejects.toThrow(/not connected/);
    expect(await r.backlog()).toBe(20);
    await sleep(300);

    server = await startNatsServer(binary, port, storeDir);
    await waitFor("backlog drained once NATS is up", async () => (await r.backlog()) === 0, 10_000);
    await bus.ping();
    const stream = await readStream(server.url, bus.streamName);
    expect(stream.total).toBe(20);
    expect([...new Set(stream.ids)].sort()).toEqual([...ids].sort());
    await waitFor("subscriber got everything", () => ids.every((id) => handled.has(id)), 10_000);
    await sub.stop();
  });
});
