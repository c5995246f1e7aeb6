/**
 * The REST app as a Node request listener, with the body limit applied while the body arrives:
 * a body is read into memory (at most MAX_BODY_BYTES of it) before Hono, JSON parsing or any
 * module sees the request, so an oversized one costs no more than the limit and is refused with
 * 413 whoever sends it (authentication happens later, in the modules). Requests without a body,
 * the hot reads among them, go straight to Hono.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { getRequestListener, type HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { requestContextOf } from "../platform/observability/index.js";
import { REQUEST_ID_HEADER } from "../platform/rpc/index.js";
import { declaredBodyLength, readBody, TOO_LARGE } from "../platform/server/index.js";
import { problem, validationProblem } from "./problem.js";
import type { Shortcut } from "./product-read-shortcut.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;
type FetchHandler = Parameters<typeof getRequestListener>[0];

export function restListener(
  app: { fetch: FetchHandler },
  options: {
    maxBodyBytes: number;
    /** Answers some body-less requests before Hono (product-read-shortcut.ts). */
    shortcut?: Shortcut;
  },
): (request: Request, response: Response) => void {
  const { shortcut } = options;
  const listener = getRequestListener(answeringRequestId(app.fetch));
  const refuse = (request: Request, response: Response, status: 413 | 415, detail: string) => {
    const body = JSON.stringify(
      problem(status, status === 413 ? "resource_exhausted" : "invalid_argument", detail),
    );
    (response as ServerResponse).writeHead(status, {
      "content-type": "application/problem+json",
      "content-length": Buffer.byteLength(body),
      ...requestIdHeader(request),
    });
    response.end(body);
  };
  const tooLarge = `the request body is larger than ${options.maxBodyBytes} bytes`;
  const refuseInvalid = (request: Request, response: Response, field: string) => {
    const errors = [{ field, message: "must be valid UTF-8 once percent-decoded" }];
    const body = JSON.stringify(validationProblem(errors));
    (response as ServerResponse).writeHead(400, {
      "content-type": "application/problem+json",
      "content-length": Buffer.byteLength(body),
      ...requestIdHeader(request),
    });
    response.end(body);
  };

  return (request, response) => {
    const url = request.url ?? "/";
    // Percent-escapes that do not decode to UTF-8 (a lone surrogate's bytes, say) would reach the
    // routes as the raw escapes: they are refused here, naming the path or the query parameter.
    if (url.includes("%")) {
      const field = undecodableUrlPart(url);
      if (field !== undefined) {
        refuseInvalid(request, response, field);
        return;
      }
    }
    const declared = declaredBodyLength(request);
    if (declared === 0) {
      if (shortcut === undefined || !shortcut(request, response)) listener(request, response);
      return;
    }
    const encoding = request.headers["content-encoding"];
    if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
      refuse(
        request,
        response,
        415,
        `content-encoding "${encoding}" is not accepted; send the body uncompressed`,
      );
      return;
    }
    if (declared > options.maxBodyBytes && Number.isFinite(declared)) {
      refuse(request, response, 413, tooLarge);
      return;
    }
    readBody(request, options.maxBodyBytes).then(
      (body) => {
        if (body === TOO_LARGE) {
          refuse(request, response, 413, tooLarge);
          return;
        }
        // @hono/node-server reads a body it finds here instead of the stream.
        (request as Request & { rawBody?: Buffer }).rawBody = body;
        listener(request, response);
      },
      () => {
        // The client went away mid-body: nobody is left to answer.
        response.destroy();
      },
    );
  };
}

/**
 * The REST side answers `x-request-id` itself, inside the one writeHead of each response, rather
 * than the one port setting it beforehand (observed-requests.ts): a header set before writeHead
 * sends Node down its slower merging path, which cost the cached product read 1.1 µs
 * (BENCHMARKS.md, "Request logs, metrics and tracing"). Hono's responses get it here; the fast
 * path (node-fast-path.ts) and the refusals above write it themselves.
 */
function answeringRequestId(fetch: FetchHandler): FetchHandler {
  return (request, env) => {
    const answer = fetch(request, env);
    const incoming = (env as Partial<HttpBindings> | undefined)?.incoming;
    if (incoming === undefined) return answer;
    return answer instanceof Promise
      ? answer.then((response: unknown) => withRequestId(response, incoming))
      : withRequestId(answer, incoming);
  };
}

function withRequestId(response: unknown, incoming: object): unknown {
  const context = requestContextOf(incoming);
  if (
    !(response instanceof globalThis.Response) ||
    response === RESPONSE_ALREADY_SENT ||
    context === undefined
  ) {
    return response;
  }
  response.headers.set(REQUEST_ID_HEADER, context.requestId);
  return response;
}

function requestIdHeader(request: Request): Record<string, string> {
  const context = requestContextOf(request);
  return context === undefined ? {} : { [REQUEST_ID_HEADER]: context.requestId };
}

/** "path", or the name of the query parameter, whose percent-escapes are not UTF-8; else undefined. */
function undecodableUrlPart(url: string): string | undefined {
  const queryStart = url.indexOf("?");
  const path = queryStart === -1 ? url : url.slice(0, queryStart);
  if (!decodes(path)) return "path";
  if (queryStart === -1) return undefined;
  for (const pair of url.slice(queryStart + 1).split("&")) {
    const equals = pair.indexOf("=");
    const name = equals === -1 ? pair : pair.slice(0, equals);
    const value = equals === -1 ? "" : pair.slice(equals + 1);
    if (!decodes(name)) return "query";
    if (!decodes(value)) return decodeURIComponent(name.replace(/\+/g, " "));
  }
  return undefined;
}

function decodes(text: string): boolean {
  if (!text.includes("%")) return true;
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}
