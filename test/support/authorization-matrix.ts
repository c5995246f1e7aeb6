/**
 * The pieces of the authorization matrix (test/authorization-matrix.test.ts): the five callers, the
 * outcomes a cell may expect, and one way per protocol to make a call and reduce what came back
 * to an outcome ("ok" or the refusal's code), so one table drives REST, Connect and gRPC alike.
 */
import type {
  DescMessage,
  DescMethodServerStreaming,
  DescMethodUnary,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { isEventStream, openEventStream } from "./event-stream-client.js";
import { grpcJsFirstStreamed, grpcJsUnary } from "./grpc-js-unary.js";
import { type HttpResult, httpCall } from "./http-call.js";
import type { TestApp } from "./test-app.js";

/** Who calls: nobody, the owner of the fixtures, another customer, an admin, the platform itself. */
export const CALLERS = ["anonymous", "customer", "other", "admin", "service"] as const;
export type Caller = (typeof CALLERS)[number];

/** The user id of "other" (the owner is TestApp.customerToken's `customer-1`). */
export const OTHER_CUSTOMER_ID = "customer-2";

/** What a cell expects: allowed, or refused with this code (docs/api.md, "Errors"). */
export type Expected = "ok" | "unauthenticated" | "permission_denied" | "not_found";

/** One expectation per caller: a row of the table. */
export type Row = Record<Caller, Expected>;

/** The REST status of each refusal the matrix expects. */
export const HTTP_STATUS: Record<Exclude<Expected, "ok">, number> = {
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
};

/** Each caller's Authorization header value (none for the anonymous caller). */
export type Credentials = Record<Caller, string | undefined>;

export async function credentials(app: TestApp): Promise<Credentials> {
  return {
    anonymous: undefined,
    customer: app.customerToken,
    other: await app.token(OTHER_CUSTOMER_ID, "customer"),
    admin: app.adminToken,
    service: app.serviceToken,
  };
}

/** An RPC as the table names it: `package.Service/Method`. */
export function rpcKey(method: { parent: DescService; name: string }): string {
  return `${method.parent.typeName}/${method.name}`;
}

/** A method the matrix can call: unary, or a server stream (judged by how it starts). */
export type MatrixMethod = DescMethodUnary | DescMethodServerStreaming;

/** Every method of the given services, by table key. */
export function rpcMethods(services: DescService[]): Map<string, MatrixMethod> {
  const methods = new Map<string, MatrixMethod>();
  for (const service of services) {
    for (const method of service.methods) {
      if (method.methodKind !== "unary" && method.methodKind !== "server_streaming")
        throw new Error(`${rpcKey(method)} is a ${method.methodKind} method: extend the matrix`);
      methods.set(rpcKey(method), method as MatrixMethod);
    }
  }
  return methods;
}

/** "METHOD /path" of every operation in an OpenAPI document. */
export function openApiRoutes(document: { paths?: Record<string, Record<string, unknown>> }): string[] {
  const verbs = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);
  return Object.entries(document.paths ?? {}).flatMap(([path, operations]) =>
    Object.keys(operations)
      .filter((verb) => verbs.has(verb))
      .map((verb) => `${verb.toUpperCase()} ${path}`),
  );
}

/** Whether a concrete path (query ignored) fits an OpenAPI path template such as /orders/{id}. */
export function fitsTemplate(template: string, path: string): boolean {
  const pattern = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
    .join("[^/]+");
  return new RegExp(`^${pattern}$`).test(path.split("?")[0] ?? "");
}

/** snake_case of a Connect code, as REST `code` and docs/api.md write it: PermissionDenied → permission_denied. */
export function codeName(code: Code): string {
  return (Code[code] ?? `code_${code}`).replace(/[A-Z]/g, (letter, index: number) =>
    index === 0 ? letter.toLowerCase() : `_${letter.toLowerCase()}`,
  );
}

/** snake_case of a gRPC status: 7 → permission_denied. */
export function grpcStatusName(status: number): string {
  return (grpc.status[status] ?? `status_${status}`).toLowerCase();
}

/** What a REST call came to: "ok" for any 2xx, else "<status> <problem code>". */
export function restOutcome(result: HttpResult): string {
  if (result.status >= 200 && result.status < 300) return "ok";
  const code = (result.body as { code?: unknown } | undefined)?.code;
  return `${result.status} ${typeof code === "string" ? code : "(no problem code)"}`;
}

/** The REST outcome a cell expects. */
export function expectedRestOutcome(expected: Expected): string {
  return expected === "ok" ? "ok" : `${HTTP_STATUS[expected]} ${expected}`;
}

export function restCall(
  app: TestApp,
  token: string | undefined,
  method: string,
  path: string,
  json?: unknown,
): Promise<HttpResult> {
  return httpCall(app.baseUrl, method, path, { token, json });
}

/**
 * A GET of an event stream, which does not end on its own: an answer that is a stream is read up to
 * its first event (its `text`), then closed; a refusal is read in full, as restCall reads it.
 */
export async function restStreamCall(
  app: TestApp,
  token: string | undefined,
  path: string,
): Promise<HttpResult> {
  const opened = await openEventStream(app.baseUrl, path, token);
  if (!isEventStream(opened)) {
    const { response, text } = opened;
    const isJson = /^application\/(problem\+)?json\b/.test(response.headers.get("content-type") ?? "");
    return {
      status: response.status,
      headers: response.headers,
      text,
      body: isJson ? JSON.parse(text) : undefined,
    };
  }
  try {
    const first = await opened.next();
    const text = [
      first.retry === undefined ? "" : `retry: ${first.retry}\n`,
      first.event === undefined ? "" : `event: ${first.event}\n`,
      first.data === undefined ? "" : `data: ${first.data}\n`,
    ].join("");
    return { status: opened.response.status, headers: opened.response.headers, text, body: undefined };
  } finally {
    opened.close();
  }
}

/** The result of an RPC: its response, or the refusal reduced to a code name. */
export type RpcResult<O extends DescMessage = DescMessage> =
  | { outcome: "ok"; message: MessageShape<O> }
  | { outcome: string; error: unknown };

/** Makes RPCs as outside clients would, over Connect (JSON, HTTP/1.1) and over gRPC (@grpc/grpc-js). */
export interface RpcCallers {
  /** A unary call, or the first message of a server stream (which is then cancelled). */
  connect<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O> | DescMethodServerStreaming<I, O>,
    request: MessageInitShape<I>,
    token: string | undefined,
  ): Promise<RpcResult<O>>;
  grpc<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O> | DescMethodServerStreaming<I, O>,
    request: MessageInitShape<I>,
    token: string | undefined,
  ): Promise<RpcResult<O>>;
  close(): void;
}

export function rpcCallers(app: TestApp): RpcCallers {
  const transport = createConnectTransport({ baseUrl: app.baseUrl, httpVersion: "1.1" });
  const grpcClient = new grpc.Client(new URL(app.baseUrl).host, grpc.credentials.createInsecure());
  return {
    async connect(method, request, token) {
      const header: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
      const stop = new AbortController();
      try {
        if (method.methodKind === "unary") {
          const response = await transport.unary(method, undefined, 10_000, header, request);
          return { outcome: "ok", message: response.message };
        }
        const response = await transport.stream(
          method,
          stop.signal,
          10_000,
          header,
          createAsyncIterable([request]),
        );
        for await (const message of response.message) return { outcome: "ok", message };
        throw new Error(`${rpcKey(method)} ended without a message`);
      } catch (error) {
        if (!(error instanceof ConnectError)) throw error;
        return { outcome: codeName(error.code), error };
      } finally {
        stop.abort();
      }
    },
    async grpc(method, request, token) {
      const metadata: Record<string, string> =
        token === undefined ? {} : { authorization: `Bearer ${token}` };
      const call = method.methodKind === "unary" ? grpcJsUnary : grpcJsFirstStreamed;
      try {
        const message = await call(grpcClient, `/${rpcKey(method)}`, method, request, metadata);
        return { outcome: "ok", message };
      } catch (error) {
        const status = (error as Partial<grpc.ServiceError>).code;
        if (typeof status !== "number") throw error;
        return { outcome: grpcStatusName(status), error };
      }
    },
    close: () => grpcClient.close(),
  };
}
