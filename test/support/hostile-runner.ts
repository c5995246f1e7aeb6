/**
 * Sends the hostile-input sweep (test/hostile-input.test.ts) and judges every answer: REST and
 * Connect over raw node:http (so paths, headers and bodies go out byte for byte as written, with no
 * URL normalisation), gRPC with @grpc/grpc-js and identity (de)serializers (so hand-made bytes go
 * out as they are). Requests run a few at a time; each answer is checked as it arrives and only an
 * excerpt of it is kept.
 */
import http from "node:http";
import * as grpc from "@grpc/grpc-js";

export type Protocol = "rest" | "connect" | "grpc";

/** Who sends a request: a name for reports and the Authorization header it sends, if any. */
export interface Caller {
  name: string;
  authorization?: string;
}

/** One hostile request, before a caller is chosen. */
export interface HostileCase {
  protocol: Protocol;
  /** `POST /products/{id}`, or `<package>.<Service>/<Method>` for RPCs. */
  operation: string;
  /** What is hostile about it, e.g. `body.name = NUL (\u0000)`. */
  input: string;
  /** HTTP method (RPCs: POST). */
  method: string;
  /** The request target as sent: path and query, already percent-encoded as intended. */
  target: string;
  /** Request headers; a list sends the header once per value. */
  headers: Record<string, string | string[]>;
  body?: Buffer;
  /** Callers that replace the default four, for cases whose Authorization header is the input. */
  callers?: Caller[];
  /** RPCs: the service is internal (only the platform's service credential may call it). */
  internal?: boolean;
  /**
   * RPCs: the body is a well-formed message of the input type in a supported encoding (only its
   * values are hostile), so the service's own rules, not the decoder, decide the answer.
   */
  wellFormed?: boolean;
  /**
   * RPCs: a server-streaming method (WatchOrders). Its answer is how the stream starts: its first
   * message (a success), or the error it ends with before one. The request is then cancelled.
   */
  serverStream?: boolean;
}

/** What came back for one request, reduced to what the checks and the report need. */
export interface Answer {
  case: HostileCase;
  caller: Caller;
  /**
   * HTTP status; 0 when no response arrived. gRPC: 200 when the call ended with a status. A
   * Connect server stream answers 200 and carries its error in its last message: its status here
   * is the one Connect gives that error's code (what a unary call would have answered).
   */
  status: number;
  /** gRPC status code (0 = OK). */
  grpcCode?: number;
  /** The error code the answer carries: problem+json `code`, Connect `code`, gRPC code name. */
  code?: string;
  contentType: string;
  excerpt: string;
  /** What is wrong with the shape of the answer (empty when nothing). */
  shapeErrors: string[];
  /** How long the request took, in milliseconds. */
  ms: number;
}

/** The content type a case sends, if any. */
export function contentTypeOf(hostileCase: HostileCase): string | undefined {
  const value = hostileCase.headers["content-type"];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** The Connect error codes and the HTTP status the Connect protocol gives each. */
export const CONNECT_STATUS: Record<string, number> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
};

const GRPC_CODE_NAMES = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];

/** gRPC codes that are the server's fault (what a 5xx is over HTTP). */
const GRPC_SERVER_ERRORS = new Set([
  "unknown",
  "deadline_exceeded",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
]);

/** Content types a Connect unary handler speaks; anything else may get a bare 415. */
const CONNECT_UNARY_CONTENT_TYPE = /^application\/(?:json(?:; ?charset=utf-?8)?|proto)$/i;

const EXCERPT = 300;
const REQUEST_TIMEOUT_MS = 30_000;

function excerptOf(text: string, length = EXCERPT): string {
  const flat = JSON.stringify(text.length > length ? `${text.slice(0, length)}…` : text);
  return flat.slice(1, -1);
}

/** A short, printable excerpt of a request body. */
export function bodyExcerpt(body: Buffer | undefined, contentType: string | undefined): string {
  if (body === undefined || body.length === 0) return "(no body)";
  const binary = contentType !== undefined && /proto|grpc/.test(contentType);
  const head = binary
    ? `0x${body.subarray(0, 48).toString("hex")}${body.length > 48 ? "…" : ""}`
    : excerptOf(body.subarray(0, 400).toString("latin1"), 160);
  return `${head} (${body.length} bytes)`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** REST: every 4xx is problem+json `{type, title, status, detail, code}` with the HTTP status. */
function restShape(status: number, contentType: string, text: string): { code?: string; errors: string[] } {
  if (status < 400 || status >= 500) return { errors: [] };
  const errors: string[] = [];
  if (!/^application\/problem\+json\b/i.test(contentType))
    errors.push(`content-type is "${contentType}", not application/problem+json`);
  const body = parseJson(text);
  if (!isObject(body)) return { errors: [...errors, "body is not a JSON object"] };
  for (const field of ["type", "title", "detail", "code"] as const) {
    if (typeof body[field] !== "string") errors.push(`${field} is not a string`);
  }
  if (body.type === "" || body.title === "") errors.push("type or title is empty");
  if (body.status !== status)
    errors.push(`status ${JSON.stringify(body.status)} is not the HTTP status ${status}`);
  const code = typeof body.code === "string" ? body.code : undefined;
  if (code !== undefined && !(code in CONNECT_STATUS)) errors.push(`code "${code}" is not a Connect code`);
  return { code, errors };
}

/** Connect: an error is JSON `{code, message?}` with a valid code and the status Connect maps it to. */
function connectShape(
  status: number,
  contentType: string,
  text: string,
  requestContentType: string | undefined,
): { code?: string; errors: string[] } {
  if (status >= 200 && status < 300) {
    return /^application\/(json|proto)\b/i.test(contentType)
      ? { errors: [] }
      : { errors: [`success with content-type "${contentType}"`] };
  }
  // The protocol answers a content type it does not speak with a bare 415.
  if (status === 415 && !CONNECT_UNARY_CONTENT_TYPE.test(requestContentType ?? "")) return { errors: [] };
  const errors: string[] = [];
  if (!/^application\/json\b/i.test(contentType))
    errors.push(`content-type is "${contentType}", not application/json`);
  const body = parseJson(text);
  if (!isObject(body)) return { errors: [...errors, "body is not a Connect error (not a JSON object)"] };
  const code = typeof body.code === "string" ? body.code : undefined;
  if (code === undefined || !(code in CONNECT_STATUS)) {
    errors.push(`code ${JSON.stringify(body.code)} is not a Connect code`);
  } else if (CONNECT_STATUS[code] !== status) {
    errors.push(`HTTP ${status} but Connect maps "${code}" to ${CONNECT_STATUS[code]}`);
  }
  if (body.message !== undefined && typeof body.message !== "string") errors.push("message is not a string");
  return { code, errors };
}

function sendHttp(
  agent: http.Agent,
  base: URL,
  hostileCase: HostileCase,
  caller: Caller,
): Promise<Omit<Answer, "case" | "caller" | "ms">> {
  const headers: Record<string, string | string[]> = { ...hostileCase.headers };
  if (caller.authorization !== undefined) headers.authorization = caller.authorization;
  if (hostileCase.body !== undefined) headers["content-length"] = String(hostileCase.body.length);
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: Omit<Answer, "case" | "caller" | "ms">) => {
      if (settled) return;
      settled = true;
      resolve(answer);
    };
    const failed = (message: string) =>
      done({ status: 0, contentType: "", excerpt: `no response: ${message}`, shapeErrors: [] });
    let request: http.ClientRequest;
    try {
      request = http.request({
        agent,
        host: base.hostname,
        port: base.port,
        method: hostileCase.method,
        path: hostileCase.target,
        headers,
        timeout: REQUEST_TIMEOUT_MS,
      });
    } catch (error) {
      // The case itself cannot be sent (node refuses it): a bug of the sweep, not of the server.
      throw new Error(
        `cannot send ${hostileCase.operation} ${hostileCase.input}: ${(error as Error).message}`,
      );
    }
    request.on("timeout", () => {
      request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`));
    });
    request.on("error", (error) => failed(error.message));
    request.on("response", (response) => {
      const contentType = String(response.headers["content-type"] ?? "");
      const stream = streamStart(hostileCase, response.statusCode ?? 0, contentType);
      if (stream !== undefined) {
        // A stream does not end on its own: how it starts is its answer, then it is cancelled,
        // unless it has ended already (then its connection is clean, and may be back in use).
        readStreamStart(response, stream, () => {
          if (!response.complete) request.destroy();
        }).then((answer) => {
          done({
            status: answer.status,
            contentType,
            code: answer.code,
            excerpt: answer.excerpt,
            shapeErrors: answer.errors,
          });
        });
        return;
      }
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", (error) => failed(error.message));
      response.on("end", () => {
        const status = response.statusCode ?? 0;
        const contentType = String(response.headers["content-type"] ?? "");
        const text = Buffer.concat(chunks).toString("utf8");
        const shape =
          hostileCase.protocol === "rest"
            ? restShape(status, contentType, text)
            : connectShape(status, contentType, text, contentTypeOf(hostileCase));
        done({ status, contentType, code: shape.code, excerpt: excerptOf(text), shapeErrors: shape.errors });
      });
    });
    request.end(hostileCase.body);
  });
}

/** How a stream answer is read: an SSE stream (REST) or a Connect server stream. */
type StreamKind = "sse" | "connect";

/** The kind of stream a 200 answer to this case is, if it is one. */
function streamStart(hostileCase: HostileCase, status: number, contentType: string): StreamKind | undefined {
  if (status !== 200) return undefined;
  if (hostileCase.protocol === "rest" && /^text\/event-stream\b/i.test(contentType)) return "sse";
  if (hostileCase.protocol === "connect" && hostileCase.serverStream === true) return "connect";
  return undefined;
}

interface StreamStart {
  status: number;
  code?: string;
  excerpt: string;
  errors: string[];
}

/**
 * Reads a stream until its first event (SSE: a block ending in a blank line) or its first Connect
 * envelope: a message (success), or the end-stream message with the error it ended with.
 */
function readStreamStart(
  response: http.IncomingMessage,
  kind: StreamKind,
  /** Called as soon as the start is read (synchronously, before the response can end). */
  onStart: () => void,
): Promise<StreamStart> {
  const contentType = String(response.headers["content-type"] ?? "");
  return new Promise((resolve) => {
    let settled = false;
    let bytes = Buffer.alloc(0);
    const settle = (start: StreamStart) => {
      if (settled) return;
      settled = true;
      onStart();
      resolve(start);
    };
    const judge = (): StreamStart | undefined => {
      if (kind === "sse") {
        const text = bytes.toString("utf8");
        return text.includes("\n\n") ? { status: 200, excerpt: excerptOf(text), errors: [] } : undefined;
      }
      if (!/^application\/connect\+(json|proto)\b/i.test(contentType))
        return { status: 200, excerpt: "", errors: [`stream with content-type "${contentType}"`] };
      if (bytes.length < 5) return undefined;
      const flags = bytes.readUInt8(0);
      const length = bytes.readUInt32BE(1);
      if (bytes.length < 5 + length) return undefined;
      const payload = bytes.subarray(5, 5 + length);
      if ((flags & 0b10) === 0)
        return { status: 200, excerpt: `a first message (${length} bytes)`, errors: [] };
      // The end-stream message: {} for a clean end, {"error": {"code", "message"}} for a failure.
      const end = parseJson(payload.toString("utf8"));
      const error = isObject(end) && isObject(end.error) ? end.error : undefined;
      if (error === undefined) return { status: 200, excerpt: "a clean end, no message", errors: [] };
      const code = typeof error.code === "string" ? error.code : undefined;
      const status = code === undefined ? undefined : CONNECT_STATUS[code];
      return status === undefined
        ? {
            status: 200,
            excerpt: excerptOf(payload.toString("utf8")),
            errors: [`end-stream code ${JSON.stringify(error.code)} is not a Connect code`],
          }
        : { status, code, excerpt: excerptOf(payload.toString("utf8")), errors: [] };
    };
    response.on("data", (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      const start = judge();
      if (start !== undefined) settle(start);
    });
    const ended = (why: string) =>
      settle({
        status: 200,
        excerpt: excerptOf(bytes.toString("latin1")),
        errors: [`the stream ${why} before its first event`],
      });
    response.on("end", () => ended("ended"));
    response.on("error", (error) => ended(`failed (${error.message})`));
  });
}

function sendGrpc(
  client: grpc.Client,
  hostileCase: HostileCase,
  caller: Caller,
): Promise<Omit<Answer, "case" | "caller" | "ms">> {
  const metadata = new grpc.Metadata();
  if (caller.authorization !== undefined) metadata.set("authorization", caller.authorization);
  const identity = (bytes: Buffer) => bytes;
  if (hostileCase.serverStream === true) return sendGrpcStream(client, hostileCase, metadata);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      hostileCase.target,
      identity,
      identity,
      hostileCase.body ?? Buffer.alloc(0),
      metadata,
      { deadline: Date.now() + REQUEST_TIMEOUT_MS },
      (error, response) => {
        const grpcCode = error ? error.code : 0;
        const code = GRPC_CODE_NAMES[grpcCode] ?? `code ${grpcCode}`;
        const excerpt = error
          ? excerptOf(`${code}: ${error.details}`)
          : `ok (${response?.length ?? 0} bytes)`;
        resolve({ status: 200, grpcCode, code, contentType: "application/grpc", excerpt, shapeErrors: [] });
      },
    );
  });
}

/** A gRPC server stream: its first message is a success (then it is cancelled), or the status it ends with. */
function sendGrpcStream(
  client: grpc.Client,
  hostileCase: HostileCase,
  metadata: grpc.Metadata,
): Promise<Omit<Answer, "case" | "caller" | "ms">> {
  const identity = (bytes: Buffer) => bytes;
  return new Promise((resolve) => {
    let settled = false;
    const answer = (grpcCode: number, excerpt: string) => {
      if (settled) return;
      settled = true;
      const code = GRPC_CODE_NAMES[grpcCode] ?? `code ${grpcCode}`;
      resolve({ status: 200, grpcCode, code, contentType: "application/grpc", excerpt, shapeErrors: [] });
    };
    const call = client.makeServerStreamRequest(
      hostileCase.target,
      identity,
      identity,
      hostileCase.body ?? Buffer.alloc(0),
      metadata,
      { deadline: Date.now() + REQUEST_TIMEOUT_MS },
    );
    call.on("data", (message: Buffer) => {
      answer(0, `a first message (${message.length} bytes)`);
      call.cancel();
    });
    call.on("error", (error: grpc.ServiceError) =>
      answer(error.code, excerptOf(`${GRPC_CODE_NAMES[error.code]}: ${error.details}`)),
    );
    call.on("status", (status: grpc.StatusObject) => answer(status.code, "ended without a message"));
  });
}

export interface SweepOptions {
  baseUrl: string;
  callers: Caller[];
  concurrency: number;
}

/** What came back for one request, before it is paired with its case and caller. */
export type Outcome = Omit<Answer, "case" | "caller">;

/** The requests of a sweep: each case as each of its callers, in a fixed order. */
function jobsOf(cases: HostileCase[], callers: Caller[]): { hostileCase: HostileCase; caller: Caller }[] {
  const jobs: { hostileCase: HostileCase; caller: Caller }[] = [];
  for (const hostileCase of cases) {
    for (const caller of hostileCase.callers ?? callers) jobs.push({ hostileCase, caller });
  }
  return jobs;
}

/** Sends every case as each of its callers, `concurrency` at a time, from this thread. */
export async function sendAll(cases: HostileCase[], options: SweepOptions): Promise<Outcome[]> {
  const base = new URL(options.baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const grpcClient = new grpc.Client(base.host, grpc.credentials.createInsecure());
  const jobs = jobsOf(cases, options.callers);
  const outcomes: Outcome[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      const { hostileCase, caller } = jobs[index] as (typeof jobs)[number];
      const started = performance.now();
      const outcome =
        hostileCase.protocol === "grpc"
          ? await sendGrpc(grpcClient, hostileCase, caller)
          : await sendHttp(agent, base, hostileCase, caller);
      outcomes[index] = { ...outcome, ms: performance.now() - started };
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    agent.destroy();
    grpcClient.close();
  }
  return outcomes;
}

/** Sends every case as each of its callers and pairs each outcome with its case and caller. */
export async function runSweep(cases: HostileCase[], options: SweepOptions): Promise<Answer[]> {
  const outcomes = await sendAll(cases, options);
  return jobsOf(cases, options.callers).map(({ hostileCase, caller }, index) => ({
    case: hostileCase,
    caller,
    ...(outcomes[index] as Outcome),
  }));
}

/** The answer is the server's fault: a 5xx, no answer at all, or a gRPC server-side status. */
export function isServerError(answer: Answer): boolean {
  if (answer.case.protocol === "grpc") return GRPC_SERVER_ERRORS.has(answer.code ?? "");
  return answer.status === 0 || answer.status >= 500;
}

export function isSuccess(answer: Answer): boolean {
  return answer.case.protocol === "grpc"
    ? answer.grpcCode === 0
    : answer.status >= 200 && answer.status < 300;
}

/** The answer says "who are you": 401 / unauthenticated. */
export function isUnauthenticated(answer: Answer): boolean {
  return answer.case.protocol === "grpc" ? answer.code === "unauthenticated" : answer.status === 401;
}

function statusText(answer: Answer): string {
  if (answer.case.protocol === "grpc") return `gRPC ${answer.code}`;
  if (answer.status === 0) return "no response";
  return answer.code ? `${answer.status} ${answer.code}` : `${answer.status}`;
}

/**
 * One line per offending request group: the same operation, input and outcome, with every caller
 * that got it, the request as sent (first caller's) and the answer.
 */
export function describeOffenders(answers: Answer[], note?: (answer: Answer) => string): string {
  const groups = new Map<string, Answer[]>();
  for (const answer of answers) {
    const key = [
      answer.case.protocol,
      answer.case.operation,
      answer.case.input,
      statusText(answer),
      note?.(answer) ?? "",
    ].join("\u0001");
    const group = groups.get(key);
    if (group) group.push(answer);
    else groups.set(key, [answer]);
  }
  const lines: string[] = [];
  for (const group of groups.values()) {
    const first = group[0] as Answer;
    const c = first.case;
    const url = c.protocol === "grpc" ? `grpc ${c.target}` : `${c.method} ${excerptOf(c.target, 160)}`;
    const extra = note ? ` [${note(first)}]` : "";
    lines.push(
      `- [${c.protocol}] ${c.operation} · ${c.input} → ${statusText(first)}${extra}\n` +
        `    callers: ${group.map((answer) => answer.caller.name).join(", ")}\n` +
        `    request: ${url} · content-type: ${contentTypeOf(c) ?? "(none)"} · body: ${bodyExcerpt(c.body, contentTypeOf(c) ?? (c.protocol === "grpc" ? "grpc" : undefined))}\n` +
        `    response: ${first.excerpt}`,
    );
  }
  return lines.join("\n");
}

/** The kind of a hostile input, without the field it went into: `json … = NUL (\u0000)`. */
export function inputKind(input: string): string {
  return input.replace(/^(json |proto |body\.|path |query |header )?[\w.[\]-]+ ?(=|:)/, "$1…$2");
}

/** `(kind of input → outcome)` counted with the operations it hit: the distinct failures. */
export function summarizeByInput(answers: Answer[]): string {
  const groups = new Map<string, { count: number; operations: Set<string> }>();
  for (const answer of answers) {
    // Cases that bring their own callers (Authorization headers) name the caller: it is the input.
    const own = answer.case.callers === undefined ? "" : ` (${answer.caller.name})`;
    const key = `${answer.case.protocol} ${inputKind(answer.case.input)}${own} → ${statusText(answer)}`;
    const group = groups.get(key) ?? { count: 0, operations: new Set<string>() };
    group.count += 1;
    group.operations.add(answer.case.operation.replace(/^ecommerce\.\w+\.v1\./, ""));
    groups.set(key, group);
  }
  return [...groups]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([key, { count, operations }]) =>
        `  ${count} × ${key} (${operations.size} operations: ${[...operations].join(", ")})`,
    )
    .join("\n");
}

/** Every operation with how often it answered what, to see what the sweep provoked. */
export function tally(answers: Answer[]): string {
  const byOperation = new Map<string, Map<string, number>>();
  for (const answer of answers) {
    const key = `${answer.case.protocol} ${answer.case.operation}`;
    const outcomes = byOperation.get(key) ?? new Map<string, number>();
    const outcome = statusText(answer);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    byOperation.set(key, outcomes);
  }
  return [...byOperation]
    .map(
      ([key, outcomes]) =>
        `  ${key}: ${[...outcomes].map(([outcome, count]) => `${count} × ${outcome}`).join(", ")}`,
    )
    .join("\n");
}

/** Where the sweep's time goes: the slowest operations and inputs, by total time. */
export function slowest(
  answers: Answer[],
  count = 40,
  keyOf = (answer: Answer) => `${answer.case.protocol} ${answer.case.operation} · ${answer.case.input}`,
): string {
  const totals = new Map<string, { ms: number; requests: number }>();
  for (const answer of answers) {
    const key = keyOf(answer);
    const total = totals.get(key) ?? { ms: 0, requests: 0 };
    total.ms += answer.ms;
    total.requests += 1;
    totals.set(key, total);
  }
  return [...totals]
    .sort(([, a], [, b]) => b.ms - a.ms)
    .slice(0, count)
    .map(([key, { ms, requests }]) => `  ${Math.round(ms)} ms / ${requests} requests · ${key}`)
    .join("\n");
}
