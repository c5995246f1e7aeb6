/**
 * The admin UI's reader of `GET /orders/events` (src/admin/client/live-orders.ts), run in Node
 * against a local server speaking server-sent events the way the gateway does and in the ways a
 * proxy may cut them: events split across chunks, CRLF line ends, keep-alive comments, a stream
 * that ends and must be reopened, and a refusal that must not be retried.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { OrderEvent } from "../src/admin/client/api-types.js";
import { followLiveOrders, type LiveState } from "../src/admin/client/live-orders.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function serve(handler: (request: IncomingMessage, response: ServerResponse, call: number) => void) {
  let calls = 0;
  const server = createServer((request, response) => handler(request, response, ++calls));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders/events`;
}

function follow(url: string) {
  const events: OrderEvent[] = [];
  const states: LiveState[] = [];
  const stop = followLiveOrders(
    "the-token",
    { onEvent: (event) => events.push(event), onState: (state) => states.push(state) },
    url,
  );
  return { events, states, stop };
}

const CREATED = { order_id: "o-1", user_id: "u-1", status: "pending", total_cents: 1250, item_count: 2 };

describe("following GET /orders/events", () => {
  it("sends the bearer token and reads events however the bytes are cut", async () => {
    let authorization: string | undefined;
    const url = await serve((request, response) => {
      authorization = request.headers.authorization;
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("retry: 2000\n\n: keep-alive\n\n");
      const text = `event: order.created\r\ndata: ${JSON.stringify(CREATED)}\r\n\r\nevent: order.status_changed\ndata: {"order_id":"o-1","from":"pending","to":"paid"}\n\n`;
      // One byte at a time, the worst a proxy can do.
      let at = 0;
      const drip = setInterval(() => {
        if (at >= text.length) return clearInterval(drip);
        response.write(text[at++]);
      }, 1);
    });
    const { events, states, stop } = follow(url);
    try {
      await expect.poll(() => events.length).toBe(2);
      expect(authorization).toBe("Bearer the-token");
      expect(events[0]).toEqual({ type: "order.created", ...CREATED });
      expect(events[1]).toEqual({
        type: "order.status_changed",
        order_id: "o-1",
        from: "pending",
        to: "paid",
      });
      expect(states).toEqual(["connecting", "live"]);
    } finally {
      stop();
    }
  });

  it("reopens a stream that ended, after the delay the server asked for, and says live again", async () => {
    const url = await serve((_request, response, call) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.end(
        `retry: 50\n\nevent: order.created\ndata: ${JSON.stringify({ ...CREATED, order_id: `o-${call}` })}\n\n`,
      );
    });
    const { events, states, stop } = follow(url);
    try {
      await expect.poll(() => events.length).toBeGreaterThanOrEqual(3);
      expect(events.slice(0, 3).map((event) => event.order_id)).toEqual(["o-1", "o-2", "o-3"]);
      expect(states.filter((state) => state === "live").length).toBeGreaterThanOrEqual(3);
    } finally {
      stop();
    }
  });

  it("skips events it does not know and data it cannot read, and goes on", async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("event: ready\ndata: {}\n\nevent: order.created\ndata: {not json\n\n");
      response.write(`event: order.created\ndata: ${JSON.stringify(CREATED)}\n\n`);
    });
    const { events, stop } = follow(url);
    try {
      await expect.poll(() => events.length).toBe(1);
      expect(events[0]?.order_id).toBe("o-1");
    } finally {
      stop();
    }
  });

  it("stops for good when the token is refused, rather than asking again and again", async () => {
    let calls = 0;
    const url = await serve((_request, response) => {
      calls += 1;
      response.writeHead(403, { "content-type": "application/problem+json" }).end("{}");
    });
    const { states, stop } = follow(url);
    try {
      await expect.poll(() => states.at(-1)).toBe("refused");
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(calls).toBe(1);
    } finally {
      stop();
    }
  });

  it("retries a server that cannot be reached or answers 503", async () => {
    const url = await serve((_request, response, call) => {
      if (call === 1) {
        response.writeHead(503).end();
        return;
      }
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(`event: order.created\ndata: ${JSON.stringify(CREATED)}\n\n`);
    });
    const { events, stop } = follow(url);
    try {
      // The default delay is 2 s: the second call comes after it.
      await expect.poll(() => events.length, { timeout: 5_000 }).toBe(1);
    } finally {
      stop();
    }
  });
});
