/**
 * One Connect unary request and its response over node:http with a keep-alive agent: the wire half
 * of the network transport's unary calls (network-transport.ts has the call around it: deadline,
 * signals, interceptors). Why not connect-node's client: its per-call machinery (async iterables
 * for one body, several AbortSignals and a DOMException per call, Headers conversions both ways)
 * cost several times the HTTP exchange itself (BENCHMARKS.md, "Four processes vs one"). The bytes
 * on the wire are the Connect protocol's, and whatever is not the plain successful answer (an
 * error, an unexpected content type or encoding) is read by Connect's own functions, exactly as
 * its transport does, so that codes, messages, details and metadata come from Connect.
 */
import http from "node:http";
import https from "node:https";
import type { DescMessage, DescMethodUnary } from "@bufbuild/protobuf";
import {
  appendHeaders,
  Code,
  ConnectError,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import {
  createMethodSerializationLookup,
  type MethodSerializationLookup,
} from "@connectrpc/connect/protocol";
import {
  errorFromJsonBytes,
  trailerDemux,
  validateResponseWithCompression,
} from "@connectrpc/connect/protocol-connect";
import type { LazyAbortController } from "./lazy-abort-controller.js";

/** Where a transport sends its unary calls: the base URL split once, and the agent that keeps its sockets. */
export interface HttpEndpoint {
  readonly client: typeof http | typeof https;
  readonly agent: http.Agent;
  readonly hostname: string;
  readonly port: string;
  /** The base URL's path without its trailing slash ("" for none). */
  readonly pathPrefix: string;
  /** `createMethodUrl(baseUrl, method)` for every method: a request whose url an interceptor changed is sent there. */
  readonly urlOf: (method: DescMethodUnary) => string;
}

export function httpEndpoint(baseUrl: string, agent?: http.Agent): HttpEndpoint {
  const url = new URL(baseUrl);
  const secure = url.protocol === "https:";
  const pathPrefix = url.pathname.replace(/\/+$/, "");
  const origin = `${url.protocol}//${url.host}${pathPrefix}`;
  const urls = new WeakMap<DescMethodUnary, string>();
  return {
    client: secure ? https : http,
    // LIFO: under a light load the same few sockets carry the calls and the others expire.
    agent: agent ?? new (secure ? https.Agent : http.Agent)({ keepAlive: true, scheduling: "lifo" }),
    hostname: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port || (secure ? "443" : "80"),
    pathPrefix,
    urlOf(method) {
      let methodUrl = urls.get(method);
      if (methodUrl === undefined) {
        methodUrl = `${origin}/${method.parent.typeName}/${method.name}`;
        urls.set(method, methodUrl);
      }
      return methodUrl;
    },
  };
}

/** Connect's serializers of a method (with their limits and error messages), made once per method. */
const serializations = new WeakMap<DescMethodUnary, MethodSerializationLookup<DescMessage, DescMessage>>();

export function serializationOf(
  method: DescMethodUnary,
): MethodSerializationLookup<DescMessage, DescMessage> {
  let lookup = serializations.get(method);
  if (lookup === undefined) {
    lookup = createMethodSerializationLookup(method, undefined, undefined, {
      readMaxBytes: 0xffffffff,
      writeMaxBytes: 0xffffffff,
    });
    serializations.set(method, lookup);
  }
  return lookup;
}

/**
 * Sends `req` and resolves with the response, or rejects with the ConnectError Connect's own
 * transport would give for it. `source` is the abort state the request follows: when it aborts
 * before the answer, the request is destroyed (its socket with it, as connect-node does over
 * HTTP/1.1) and the promise rejects with its reason.
 */
export function exchangeUnary(
  endpoint: HttpEndpoint,
  req: UnaryRequest,
  source: LazyAbortController,
): Promise<UnaryResponse> {
  const method = req.method;
  const body = serializationOf(method).getI(true).serialize(req.message);
  const headers: Record<string, string> = {};
  req.header.forEach((value, key) => {
    headers[key] = value;
  });
  headers["content-length"] = String(body.byteLength);
  let target = endpoint;
  let path = `${endpoint.pathPrefix}/${method.parent.typeName}/${method.name}`;
  if (req.url !== endpoint.urlOf(method)) {
    const url = new URL(req.url);
    target = { ...endpoint, hostname: url.hostname.replace(/^\[|\]$/g, ""), port: url.port };
    path = `${url.pathname}${url.search}`;
  }
  return new Promise<UnaryResponse>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    const outgoing = target.client.request(
      {
        agent: target.agent,
        hostname: target.hostname,
        port: target.port,
        method: req.requestMethod,
        path,
        headers,
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        let size = 0;
        incoming.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
        });
        incoming.on("error", (error) => fail(fromNodeError(error)));
        incoming.on("end", () => {
          if (settled) return;
          settled = true;
          const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
          try {
            resolve(readResponse(method, incoming.statusCode ?? 0, incoming.headers, bytes));
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    outgoing.on("error", (error) => fail(fromNodeError(error)));
    // Also called, without a reason, once the call succeeded: `settled` is set by then.
    source.onAbort(() => {
      if (settled) return;
      fail(source.reason);
      outgoing.destroy();
    });
    outgoing.end(body);
  });
}

/** What a response means: the answer, or the error Connect's transport throws for it. */
function readResponse(
  method: DescMethodUnary,
  status: number,
  nodeHeaders: http.IncomingHttpHeaders,
  body: Uint8Array,
): UnaryResponse {
  const encoding = nodeHeaders["content-encoding"];
  if (
    status === 200 &&
    nodeHeaders["content-type"] === "application/proto" &&
    (encoding === undefined || encoding === "identity")
  ) {
    return new HttpUnaryResponse(method, nodeHeaders, serializationOf(method).getO(true).parse(body));
  }
  // Anything else is read as createTransport of @connectrpc/connect/protocol-connect reads it.
  const all = webHeaders(nodeHeaders);
  const { isUnaryError, unaryError } = validateResponseWithCompression("unary", [], true, status, all);
  const [header, trailer] = trailerDemux(all);
  if (isUnaryError) throw errorFromJsonBytes(body, appendHeaders(header, trailer), unaryError);
  return {
    stream: false,
    service: method.parent,
    method,
    header,
    trailer,
    message: serializationOf(method).getO(true).parse(body),
  };
}

/**
 * A successful answer. Its headers and trailers (Connect's `trailer-` headers) become Headers
 * objects only if someone reads them: most callers never do, and each one costs microseconds.
 */
class HttpUnaryResponse implements UnaryResponse {
  readonly stream = false as const;
  readonly service: UnaryResponse["service"];
  #demuxed: [Headers, Headers] | undefined;

  constructor(
    readonly method: DescMethodUnary,
    private readonly nodeHeaders: http.IncomingHttpHeaders,
    readonly message: UnaryResponse["message"],
  ) {
    this.service = method.parent;
  }

  get header(): Headers {
    this.#demuxed ??= trailerDemux(webHeaders(this.nodeHeaders));
    return this.#demuxed[0];
  }

  get trailer(): Headers {
    this.#demuxed ??= trailerDemux(webHeaders(this.nodeHeaders));
    return this.#demuxed[1];
  }
}

/** Node's parsed headers as Headers, as connect-node converts them. */
export function webHeaders(nodeHeaders: http.IncomingHttpHeaders): Headers {
  const header = new Headers();
  for (const [key, value] of Object.entries(nodeHeaders)) {
    if (value === undefined || key.startsWith(":")) continue;
    if (typeof value === "string") header.append(key, value);
    else for (const one of value) header.append(key, one);
  }
  return header;
}

/**
 * A failure of the socket as connect-node reports it (node-error.ts of connect-node, which it does
 * not export): a reset is `aborted` and a refused connection `unavailable`, with the Node error as
 * the cause, where connectionLossIsUnavailable looks for it.
 */
function fromNodeError(reason: Error): ConnectError {
  const codes = new Set<string>();
  for (let error: unknown = reason; error instanceof Error && codes.size < 8; error = error.cause) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === "string") codes.add(code);
    if (error.cause === error) break;
  }
  let code = Code.Internal;
  if (
    ["ERR_STREAM_WRITE_AFTER_END", "ERR_STREAM_DESTROYED", "ERR_HTTP2_INVALID_STREAM", "ECONNRESET"].some(
      (c) => codes.has(c),
    )
  ) {
    code = Code.Aborted;
  } else if (["ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED"].some((c) => codes.has(c))) {
    code = Code.Unavailable;
  }
  const error = ConnectError.from(reason, code);
  if (error !== reason) error.cause = reason;
  return error;
}
