/**
 * NATS goes away while the API is in use: writes still answer (their events wait in the outbox),
 * and once NATS is back every event reaches the stream exactly once. Uses a private nats-server on
 * its own port, never the machine's shared one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasServiceUrls } from "./support/deployment.js";
import {
  findNatsServer,
  freePort,
  type NatsServerProcess,
  startNatsServer,
  waitFor,
} from "./support/event-test-support.js";
import { startTestApp, type TestApp } from "./support/test-app.js";

const binary = findNatsServer();

describe.skipIf(!hasServiceUrls())("product events across a NATS outage", () => {
  let app: TestApp;
  let nats: NatsServerProcess;
  let storeDir: string;
  let port: number;

  beforeAll(async () => {
    if (!binary) throw new Error("nats-server is not installed");
    storeDir = mkdtempSync(path.join(tmpdir(), "nats-outage-"));
    port = await freePort();
    nats = await startNatsServer(binary, port, storeDir);
    app = await startTestApp("services", { NATS_URL: nats.url });
  });
  afterAll(async () => {
    await app?.stop();
    await nats?.kill();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it("keeps answering with NATS down and delivers every event exactly once after it returns", async () => {
    const create = (name: string) =>
      fetch(`${app.baseUrl}/products`, {
        method: "POST",
        headers: { authorization: `Bearer ${app.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ name, price_cents: 100, stock: 1 }),
      });
    for (let index = 0; index < 5; index++) expect((await create(`before ${index}`)).status).toBe(201);

    await nats.kill();
    const ready = await fetch(`${app.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toContain("nats");
    for (let index = 0; index < 20; index++) expect((await create(`during ${index}`)).status).toBe(201);
    expect((await fetch(`${app.baseUrl}/products?page_size=100`)).status).toBe(200);

    nats = await startNatsServer(binary as string, port, storeDir);
    const client = await connect({ servers: nats.url });
    try {
      const jsm = await client.jetstreamManager();
      const stream = `${app.namespace}_events`;
      await waitFor(
        "25 events in the stream",
        async () => {
          const info = await jsm.streams.info(stream).catch(() => undefined);
          return (info?.state.messages ?? 0) >= 25;
        },
        15_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      const info = await jsm.streams.info(stream);
      expect(info.state.messages).toBe(25);
      const ids = new Set<string>();
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        ids.add((await jsm.streams.getMessage(stream, { seq })).header.get("Nats-Msg-Id"));
      }
      expect(ids.size).toBe(25);
    } finally {
      await client.close();
    }
  }, 60_000);
});
