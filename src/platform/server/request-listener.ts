/**
 * The requests, responses and listener of both HTTP servers on the one port (one-port-server.ts):
 * node:http's for HTTP/1.1 and node:http2's compatibility API for HTTP/2, served by one listener.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;
export type RequestListener = (request: AnyRequest, response: AnyResponse) => void;
