/**
 * The REST app as a Node request listener, with the body limit applied while the body arrives:
 * a body is read into memory (at most MAX_BODY_BYTES of it) before Hono, JSON parsing or any
 * module sees the request, so an oversized one costs no more than the limit and is refused with
 * 413 whoever sends it (authentication happens later, in the modules). Requests without a body,
 * the hot reads among them, go straight to Hono.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { getRequestListener } from "@hono/node-server";
import { declaredBodyLength } from "../platform/server/early-answer.js";
import { readBody, TOO_LARGE } from "../platform/server/read-body.js";
import type { HttpMetrics } from "./http-metrics.js";
import { problem } from "./problem.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

export function restListener(
  app: { fetch: Parameters<typeof getRequestListener>[0] },
  options: { maxBodyBytes: number; metrics: HttpMetrics },
): (request: Request, response: Response) => void {
  const listener = getRequestListener(app.fetch);
  const refuse = (request: Request, response: Response, status: 413 | 415, detail: string) => {
    const body = JSON.stringify(
      problem(status, status === 413 ? "resource_exhausted" : "invalid_argument", detail),
    );
    (response as ServerResponse).writeHead(status, {
      "content-type": "application/problem+json",
      "content-length": Buffer.byteLength(body),
    });
    response.end(body);
    options.metrics.observe(request.method ?? "", "unmatched", status, performance.now());
  };
  const tooLarge = `the request body is larger than ${options.maxBodyBytes} bytes`;

  return (request, response) => {
    const declared = declaredBodyLength(request);
    if (declared === 0) {
      listener(request, response);
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
