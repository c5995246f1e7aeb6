/**
 * An open watch never holds up a stop (docs/operations.md, "Shutdown"): GET /orders/events and
 * WatchOrders streams would otherwise keep their connections busy until the drain time runs out
 * (and the process would exit 1, having cut them). Every watch ends the moment a stop begins:
 * - in process, `stop()` with an admin watching finishes in well under the drain time, nothing
 *   abandoned;
 * - a process started as `npm start` starts it exits 0 on SIGTERM within a second or two, its
 *   watchers' streams ended cleanly;
 * - in the split, stopping the orders process ends the streams the gateway serves from it, and
 *   stopping the gateway ends its own and the ones it forwards.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { OrderService } from "../src/gen/ecommerce/orders/v1/order_service_pb.js";
import { serviceUrls, testToken } from "./support/deployment.js";
import { type EventStreamClient, isEventStream, openEventStream } from "./support/event-stream-client.js";
import { startInProcessApp } from "./support/test-app.js";
import { startOneProcess, startSplitTopology } from "./support/topologies.js";

const services = !Array.isArray(serviceUrls());
/** The drain time of a stop: what an open watch would hold it for. */
const DRAIN_MS = 6_000;
/** "Well under the drain time." */
const PROMPTLY_MS = 2_000;

async function watchEvents(baseUrl: string, token: string): Promise<EventStreamClient> {
  const opened = await openEventStream(baseUrl, "/orders/events", token);
  if (!isEventStream(opened)) throw new Error(`not a stream: ${opened.response.status} ${opened.text}`);
  await opened.next((block) => block.event === "ready");
  return opened;
}

/** A WatchOrders stream over Connect, read in the background: how it ended, and when. */
async function watchRpc(baseUrl: string, token: string) {
  const client = createClient(OrderService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
  const messages = client
    .watchOrders({}, { headers: { authorization: `Bearer ${token}` } })
    [Symbol.asyncIterator]();
  await messages.next();
  const ended = (async () => {
    try {
      for (let next = await messages.next(); !next.done; next = await messages.next()) {}
      return { how: "clean end", at: Date.now() };
    } catch (error) {
      return { how: Code[ConnectError.from(error).code], at: Date.now() };
    }
  })();
  return { ended };
}

/** When the SSE stream ended, measured from now. */
async function endOf(stream: EventStreamClient): Promise<number> {
  await stream.ended;
  return Date.now();
}

describe("a stop with admins watching", () => {
  it("in process: stop() ends every watch at once and finishes well under the drain time", async () => {
    const app = await startInProcessApp("embedded");
    const stream = await watchEvents(app.baseUrl, app.adminToken);
    const rpc = await watchRpc(app.baseUrl, app.adminToken);
    const started = Date.now();
    const report = await app.app.stop({ drainMs: DRAIN_MS });
    const tookMs = Date.now() - started;
    console.info(`in process: stop() with two watches open took ${tookMs} ms`);
    expect(report.abandoned).toEqual([]);
    expect(tookMs).toBeLessThan(PROMPTLY_MS);
    expect((await endOf(stream)) - started).toBeLessThan(PROMPTLY_MS);
    const rpcEnd = await rpc.ended;
    expect(rpcEnd.how).toBe("clean end");
    expect(rpcEnd.at - started).toBeLessThan(PROMPTLY_MS);
    await app.stop();
  });
});

describe.skipIf(!services)("SIGTERM with admins watching (child processes, real services)", () => {
  const stops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const stop of stops) await stop();
  });

  it("one process exits 0 within a second or two, its streams ended cleanly", async () => {
    const one = await startOneProcess();
    stops.push(one.stop);
    const admin = await testToken("admin-1", "admin");
    const stream = await watchEvents(one.app.url, admin);
    const rpc = await watchRpc(one.app.url, admin);
    const { code, elapsedMs } = await one.app.stop("SIGTERM");
    console.info(`one process: SIGTERM with two watches open → exit ${code} in ${elapsedMs} ms`);
    expect(code, one.app.output()).toBe(0);
    expect(elapsedMs).toBeLessThan(PROMPTLY_MS);
    await stream.ended;
    expect((await rpc.ended).how).toBe("clean end");
  }, 60_000);

  it("split: stopping orders ends the gateway's streams from it; stopping the gateway ends its own", async () => {
    const split = await startSplitTopology();
    stops.push(split.stop);
    const admin = await testToken("admin-1", "admin");

    // Orders stops: the gateway's event stream and the WatchOrders it forwards end, promptly.
    let stream = await watchEvents(split.baseUrl, admin);
    let rpc = await watchRpc(split.baseUrl, admin);
    let signalled = Date.now();
    const orders = await split.processes.orders.stop("SIGTERM");
    console.info(
      `split: SIGTERM to orders with two watches through the gateway → exit ${orders.code} in ${orders.elapsedMs} ms`,
    );
    expect(orders.code).toBe(0);
    expect(orders.elapsedMs).toBeLessThan(PROMPTLY_MS);
    expect((await endOf(stream)) - signalled).toBeLessThan(PROMPTLY_MS);
    const forwarded = await rpc.ended;
    expect(forwarded.how).toBe("clean end");
    expect(forwarded.at - signalled).toBeLessThan(PROMPTLY_MS);

    // The gateway stops: its own streams end, and the forwarded ones.
    await split.restart("orders");
    stream = await watchEvents(split.baseUrl, admin);
    rpc = await watchRpc(split.baseUrl, admin);
    signalled = Date.now();
    const gateway = await split.processes.gateway.stop("SIGTERM");
    console.info(
      `split: SIGTERM to the gateway with two watches open → exit ${gateway.code} in ${gateway.elapsedMs} ms`,
    );
    expect(gateway.code).toBe(0);
    expect(gateway.elapsedMs).toBeLessThan(PROMPTLY_MS);
    expect((await endOf(stream)) - signalled).toBeLessThan(PROMPTLY_MS);
    expect((await rpc.ended).how).toBe("clean end");
  }, 120_000);
});
