/**
 * The HTTP/1.1 header and request timeouts (http1-request-timeouts.ts): the sweep's decisions on
 * fake sockets, then on a real node:http parser, whose internals it relies on.
 */
import { EventEmitter } from "node:events";
import http from "node:http";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Http1RequestTimeouts } from "./http1-request-timeouts.js";

/** A socket as the sweep reads it: node:http's parser, with the message state a test sets. */
class FakeSocket extends EventEmitter {
  arrivingMs = 0;
  headersComplete = false;
  parser: { duration(): number; headersCompleted(): boolean } | null = {
    duration: () => this.arrivingMs,
    headersCompleted: () => this.headersComplete,
  };
}

const LIMITS = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 };

/** The sweep under test, and what it expired; a test sets it up (a long interval: it sweeps by hand). */
let timeouts: Http1RequestTimeouts;
const expired: [unknown, string][] = [];
const setUp = () => {
  expired.length = 0;
  timeouts = new Http1RequestTimeouts(LIMITS, (socket, what) => expired.push([socket, what]), 3_600_000);
};
const connect = () => {
  const socket = new FakeSocket();
  timeouts.track(socket as unknown as net.Socket);
  return socket;
};
afterEach(() => timeouts?.stop());

describe("Http1RequestTimeouts", () => {
  it("closes a connection whose message has not completed its headers after the headers timeout", () => {
    setUp();
    const socket = connect();
    socket.arrivingMs = 9_999;
    timeouts.sweep();
    expect(expired).toEqual([]);
    socket.arrivingMs = 10_000;
    timeouts.sweep();
    expect(expired).toEqual([[socket, "headers"]]);
  });

  it("leaves alone a connection between messages, and one whose headers are complete", () => {
    setUp();
    const idle = connect();
    const answering = connect();
    idle.arrivingMs = 0;
    answering.arrivingMs = 29_999;
    answering.headersComplete = true;
    timeouts.sweep();
    expect(expired).toEqual([]);
  });

  it("closes a message whose body is still arriving after the request timeout", () => {
    setUp();
    const socket = connect();
    socket.headersComplete = true;
    socket.arrivingMs = 30_000;
    timeouts.sweep();
    expect(expired).toEqual([[socket, "request"]]);
  });

  it("skips a connection whose parser is freed, and forgets a closed one", () => {
    setUp();
    const freed = connect();
    freed.parser = null;
    const closed = connect();
    closed.arrivingMs = 60_000;
    closed.emit("close");
    timeouts.sweep();
    expect(expired).toEqual([]);
  });

  // The sweep relies on node:http's parser keeping these for a server that never listens itself.
  it("reads a real node:http parser: a second request's headers are timed, a served one is not", async () => {
    expired.length = 0;
    timeouts = new Http1RequestTimeouts({ headersTimeoutMs: 100, requestTimeoutMs: 1_000 }, (_socket, what) =>
      expired.push([undefined, what]),
    );
    const server = http.createServer((_request, response) => response.end("ok"));
    const tcp = net.createServer((socket) => {
      timeouts.track(socket);
      server.emit("connection", socket);
    });
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    const client = net.connect((tcp.address() as net.AddressInfo).port, "127.0.0.1");
    client.on("data", () => {});
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    try {
      client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      await wait(150);
      timeouts.sweep();
      expect(expired).toEqual([]); // served, and idle between messages
      client.write("GET / HTTP/1.1\r\nHost: x\r\n");
      await wait(50);
      timeouts.sweep();
      expect(expired).toEqual([]); // its headers have been arriving for 50 ms
      await wait(100);
      timeouts.sweep();
      expect(expired).toEqual([[undefined, "headers"]]);
    } finally {
      client.destroy();
      tcp.close();
    }
  });
});
