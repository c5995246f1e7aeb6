/**
 * The connection's states against a private nats-server that the test starts and kills: waiting
 * while it is unreachable, connected once it is up, reconnecting while nats.js gets it back, a
 * new connected state after the reconnect, and closed for good.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  findNatsServer,
  freePort,
  type NatsServerProcess,
  silentLogger,
  startNatsServer,
  waitFor,
} from "../../../test/support/event-test-support.js";
import { type ConnectedState, NatsConnection, NotConnectedError } from "./nats-connection.js";

const natsServer = findNatsServer();
// In CI (NATS_URL set) a missing binary must fail the suite, not skip it.
const skip = !natsServer && !process.env.NATS_URL;

describe.skipIf(skip)("NatsConnection", () => {
  let server: NatsServerProcess | undefined;
  let connection: NatsConnection | undefined;
  const storeDir = mkdtempSync(path.join(tmpdir(), "nats-connection-"));

  afterEach(async () => {
    await connection?.close();
    await server?.kill();
    connection = undefined;
    server = undefined;
    rmSync(storeDir, { recursive: true, force: true });
  });

  function open(port: number): NatsConnection {
    return new NatsConnection({
      servers: [`nats://127.0.0.1:${port}`],
      name: "nats-connection-test",
      reconnectTimeWaitMs: 50,
      requestTimeoutMs: 2_000,
      log: silentLogger,
    });
  }

  it("waits while NATS is unreachable, then connects once it is up", async () => {
    const port = await freePort();
    connection = open(port);
    const live = connection;
    await waitFor("a failed attempt", () => live.current.kind === "waiting");
    expect(() => live.connected()).toThrow(NotConnectedError);
    server = await startNatsServer(natsServer as string, port, storeDir);
    await waitFor("connected", () => live.current.kind === "connected", 10_000);
    expect(live.connected().conn.isClosed()).toBe(false);
  });

  it("reconnects after the server restarts, as a new connected state, and tells its listeners", async () => {
    const port = await freePort();
    server = await startNatsServer(natsServer as string, port, storeDir);
    connection = open(port);
    const live = connection;
    const entered: ConnectedState[] = [];
    live.onConnected((state) => entered.push(state));
    await waitFor("connected", () => live.current.kind === "connected");
    const first = live.connected();

    await server.kill();
    await waitFor("reconnecting", () => live.current.kind === "reconnecting");
    expect(() => live.connected()).toThrow(NotConnectedError);
    server = await startNatsServer(natsServer as string, port, storeDir);
    await waitFor("connected again", () => live.current.kind === "connected", 10_000);

    const second = live.connected();
    expect(second).not.toBe(first);
    expect(second.conn).toBe(first.conn); // nats.js got the same connection back
    expect(entered).toEqual([first, second]);
  });

  it("is closed for good after close(), and says so rather than 'not connected'", async () => {
    const port = await freePort();
    server = await startNatsServer(natsServer as string, port, storeDir);
    connection = open(port);
    const live = connection;
    await waitFor("connected", () => live.current.kind === "connected");
    const { conn } = live.connected();
    await live.close();
    expect(live.current.kind).toBe("closed");
    expect(conn.isClosed()).toBe(true);
    expect(() => live.connected()).toThrow(/closed/);
  });

  it("does not capture each request's stack in advance (a JetStream publish is a request)", async () => {
    const port = await freePort();
    server = await startNatsServer(natsServer as string, port, storeDir);
    connection = open(port);
    const live = connection;
    await waitFor("connected", () => live.current.kind === "connected", 10_000);
    const { conn } = live.connected();
    // A subscriber that never answers: the request times out.
    conn.subscribe("nobody.answers");
    async function aCallerWhoseNameWouldBeInAnAsyncTrace() {
      return conn.request("nobody.answers", undefined, { timeout: 50 });
    }
    const failure = await aCallerWhoseNameWouldBeInAnAsyncTrace().then(
      () => undefined,
      (error: unknown) => error as Error & { code?: string },
    );
    expect(failure?.code).toBe("TIMEOUT");
    // With nats.js's async traces the timeout's Error is built when the request is made, and its
    // stack names the caller: three Errors with stacks for every request that does not time out.
    expect(failure?.stack).not.toContain("aCallerWhoseNameWouldBeInAnAsyncTrace");
  });
});
