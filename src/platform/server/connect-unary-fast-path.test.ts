/**
 * The one port's unary fast path must answer on the wire exactly as connect-node's adapter does:
 * every request here goes to a server with the fast path and to one with connect-node alone, and
 * the two answers (status, content type, the user's headers and `trailer-` headers, the body) must
 * be equal (and name the same headers). Requests the fast path leaves to connect-node are checked
 * to reach it. The transport
 * side, and the conformance cases over the wire, are in transport/network-transport.test.ts.
 */
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { closeServers, READ_MAX_BYTES, startServer } from "../../../test/support/network-conformance.js";
import { fakeInventory, type Seen } from "../../../test/support/transport-conformance-fixtures.js";
import {
  CreateProductRequestSchema,
  GetProductRequestSchema,
  InventoryService,
} from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { connectUnaryFastPath } from "./connect-unary-fast-path.js";

afterEach(closeServers);

interface Exchange {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Sent in two chunks without a content-length (chunked). */
  chunked?: boolean;
}

interface Answer {
  status: number;
  contentType: string | undefined;
  /** Every header of the answer but its date. */
  headerNames: string[];
  userHeaders: [string, string][];
  body: string;
}

const BINARY = { "content-type": "application/proto", "connect-protocol-version": "1" };
const getProduct = (id: string) =>
  Buffer.from(toBinary(GetProductRequestSchema, create(GetProductRequestSchema, { id })));

async function both(exchange: Exchange): Promise<{ fast: Answer; connectNode: Answer; servedFast: boolean }> {
  const answers: Answer[] = [];
  let servedFast = false;
  for (const fastPath of [true, false]) {
    const seen: Seen = { calls: 0 };
    const { baseUrl, counts } = startServer(
      (router) => router.service(InventoryService, fakeInventory(seen)),
      {
        fastPath,
      },
    );
    answers.push(await send(await baseUrl, exchange));
    if (fastPath) servedFast = counts.fallback === 0;
  }
  return { fast: answers[0] as Answer, connectNode: answers[1] as Answer, servedFast };
}

function send(baseUrl: string, exchange: Exchange): Promise<Answer> {
  const url = new URL(baseUrl);
  const headers: Record<string, string> = { ...exchange.headers };
  if (!exchange.chunked && exchange.body !== undefined)
    headers["content-length"] = String(exchange.body.length);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        hostname: url.hostname,
        port: url.port,
        method: exchange.method ?? "POST",
        path: exchange.path ?? "/ecommerce.inventory.v1.InventoryService/GetProduct",
        headers,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: response.headers["content-type"],
            headerNames: Object.keys(response.headers)
              .filter((key) => key !== "date")
              .sort(),
            userHeaders: Object.entries(response.headers)
              .filter(([key]) => key.startsWith("x-") || key.startsWith("trailer-"))
              .map(([key, value]) => [key, String(value)] as [string, string])
              .sort(),
            body: Buffer.concat(chunks).toString("latin1"),
          }),
        );
      },
    );
    request.on("error", reject);
    if (exchange.chunked && exchange.body !== undefined) {
      const half = Math.floor(exchange.body.length / 2);
      request.write(exchange.body.subarray(0, half));
      request.end(exchange.body.subarray(half));
    } else {
      request.end(exchange.body);
    }
  });
}

describe("the unary fast path answers as connect-node does", () => {
  const served: [string, Exchange][] = [
    ["a response", { headers: BINARY, body: getProduct("p-1") }],
    [
      "a response, without connect-protocol-version",
      { headers: { "content-type": "application/proto" }, body: getProduct("p-1") },
    ],
    ["a body sent chunked, without a length", { headers: BINARY, body: getProduct("p-1"), chunked: true }],
    ["an error with metadata, details, headers and trailers", { headers: BINARY, body: getProduct("nope") }],
    ["a plain Error, as internal", { headers: BINARY, body: getProduct("explode") }],
    [
      "an unimplemented method",
      {
        path: "/ecommerce.inventory.v1.InventoryService/DeleteProduct",
        headers: BINARY,
        body: getProduct("p-1"),
      },
    ],
    ["an empty body (the default message)", { headers: BINARY, body: Buffer.alloc(0) }],
    ["garbage bytes", { headers: BINARY, body: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]) }],
    ["a truncated message", { headers: BINARY, body: getProduct("p-1").subarray(0, 3) as Buffer }],
    ["invalid UTF-8 in a string", { headers: BINARY, body: Buffer.from([0x0a, 0x02, 0xc3, 0x28]) }],
    [
      "unknown fields",
      { headers: BINARY, body: Buffer.concat([getProduct("p-1"), Buffer.from([0xf8, 0x3e, 0x01])]) },
    ],
    [
      "a malformed connect-timeout-ms",
      { headers: { ...BINARY, "connect-timeout-ms": "soon" }, body: getProduct("p-1") },
    ],
    [
      "a connect-timeout-ms of 11 digits",
      { headers: { ...BINARY, "connect-timeout-ms": "12345678901" }, body: getProduct("p-1") },
    ],
    [
      "the server's deadline",
      { headers: { ...BINARY, "connect-timeout-ms": "40" }, body: getProduct("wait") },
    ],
    [
      "a chunked body over the limit",
      { headers: BINARY, body: Buffer.alloc(READ_MAX_BYTES + 1, 0x20), chunked: true },
    ],
    [
      "request headers echoed",
      {
        path: "/ecommerce.inventory.v1.InventoryService/CreateProduct",
        headers: { ...BINARY, "x-echo": "hi" },
        body: Buffer.from(
          toBinary(CreateProductRequestSchema, create(CreateProductRequestSchema, { name: "Kettle" })),
        ),
      },
    ],
  ];

  it.each(served)("%s", async (_name, exchange) => {
    const { fast, connectNode, servedFast } = await both(exchange);
    expect(fast).toEqual(connectNode);
    expect(servedFast).toBe(true);
  });

  const passedOn: [string, Exchange][] = [
    ["Connect JSON", { headers: { "content-type": "application/json" }, body: Buffer.from('{"id":"p-1"}') }],
    ["a compressed body", { headers: { ...BINARY, "content-encoding": "gzip" }, body: getProduct("p-1") }],
    [
      "a client that accepts a compressed answer",
      { headers: { ...BINARY, "accept-encoding": "gzip" }, body: getProduct("p-1") },
    ],
    [
      "another protocol version",
      { headers: { ...BINARY, "connect-protocol-version": "2" }, body: getProduct("p-1") },
    ],
    ["a body declared over the limit", { headers: BINARY, body: Buffer.alloc(READ_MAX_BYTES + 1, 0x20) }],
    ["gRPC", { headers: { "content-type": "application/grpc" }, body: Buffer.from([0, 0, 0, 0, 0]) }],
    [
      "gRPC-Web",
      { headers: { "content-type": "application/grpc-web+proto" }, body: Buffer.from([0, 0, 0, 0, 0]) },
    ],
    [
      "a GET",
      {
        method: "GET",
        path: "/ecommerce.inventory.v1.InventoryService/GetProduct?connect=v1&encoding=proto&message=",
        headers: {},
      },
    ],
    [
      "a query string",
      {
        path: "/ecommerce.inventory.v1.InventoryService/GetProduct?x=1",
        headers: BINARY,
        body: getProduct("p-1"),
      },
    ],
    [
      "a path nobody serves",
      { path: "/ecommerce.nope.v1.Nope/Get", headers: BINARY, body: getProduct("p-1") },
    ],
  ];

  it.each(passedOn)("leaves %s to connect-node", async (_name, exchange) => {
    const { fast, connectNode, servedFast } = await both(exchange);
    expect(fast).toEqual(connectNode);
    expect(servedFast).toBe(false);
  });

  it("answers over HTTP/2 as connect-node does", async () => {
    const routes = (router: Parameters<Parameters<typeof connectNodeAdapter>[0]["routes"]>[0]) =>
      router.service(InventoryService, fakeInventory({ calls: 0 }));
    const adapter = connectNodeAdapter({ routes, readMaxBytes: READ_MAX_BYTES });
    const answers = [];
    for (const listener of [
      connectUnaryFastPath({ routes, readMaxBytes: READ_MAX_BYTES }, adapter),
      adapter,
    ]) {
      const server = http2.createServer(listener as Parameters<typeof http2.createServer>[0]);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      try {
        for (const id of ["p-1", "nope"]) {
          const stream = session.request({
            ":method": "POST",
            ":path": "/ecommerce.inventory.v1.InventoryService/GetProduct",
            ...BINARY,
          });
          stream.end(getProduct(id));
          const [headers, body] = await new Promise<[http2.IncomingHttpHeaders, string]>((resolve) => {
            let received: http2.IncomingHttpHeaders = {};
            const chunks: Buffer[] = [];
            stream.on("response", (h) => {
              received = h;
            });
            stream.on("data", (chunk: Buffer) => chunks.push(chunk));
            stream.on("end", () => resolve([received, Buffer.concat(chunks).toString("latin1")]));
          });
          answers.push({
            status: headers[":status"],
            contentType: headers["content-type"],
            user: Object.entries(headers).filter(
              ([key]) => key.startsWith("x-") || key.startsWith("trailer-"),
            ),
            body,
          });
        }
      } finally {
        session.destroy();
        await new Promise((resolve) => server.close(resolve));
      }
    }
    expect(answers.slice(0, 2)).toEqual(answers.slice(2));
    expect(answers[1]).toMatchObject({ status: 404, contentType: "application/json" });
  });
});
