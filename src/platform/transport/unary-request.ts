/**
 * The UnaryRequest the in-process transport makes of a caller's arguments, as a network transport
 * would send it: the request message created from its init shape, fresh headers, the method's URL.
 * Where it fits in a call: docs/architecture.md, "A request".
 */
import { create, type DescMessage, type DescMethodUnary, type MessageInitShape } from "@bufbuild/protobuf";
import { type ContextValues, createContextValues, type UnaryRequest } from "@connectrpc/connect";
import { createMethodUrl } from "@connectrpc/connect/protocol";
import { type LazyAbortController, WithLazySignal } from "./lazy-abort-controller.js";

/** What Transport.unary accepts as request headers (the DOM's HeadersInit, not in this lib). */
export type HeadersInit = ConstructorParameters<typeof Headers>[0];

/** The origin of the URLs in-process requests report. */
export const IN_PROCESS_BASE_URL = "https://in-process";

/** A request's fields but its signal, which the caller adds in one of two ways (see below). */
export function unaryRequestFields(
  method: DescMethodUnary,
  header: HeadersInit | undefined,
  input: MessageInitShape<DescMessage>,
  contextValues: ContextValues | undefined,
): Omit<UnaryRequest, "signal"> {
  return {
    stream: false as const,
    service: method.parent,
    method,
    requestMethod: "POST",
    url: urlOf(method),
    header: new Headers(header),
    contextValues: contextValues ?? createContextValues(),
    message: create(method.input, input),
  };
}

/**
 * A request no interceptor sees (see WithLazySignal). One that interceptors see is the fields
 * object itself, given an own `signal` by defineLazySignal, since they may copy it with a spread.
 */
export class InProcessUnaryRequest extends WithLazySignal implements UnaryRequest {
  readonly stream = false as const;
  readonly service: UnaryRequest["service"];
  readonly method: UnaryRequest["method"];
  readonly requestMethod: string;
  readonly url: string;
  readonly header: Headers;
  readonly contextValues: ContextValues;
  readonly message: UnaryRequest["message"];

  constructor(fields: Omit<UnaryRequest, "signal">, abort: LazyAbortController) {
    super(abort);
    this.service = fields.service;
    this.method = fields.method;
    this.requestMethod = fields.requestMethod;
    this.url = fields.url;
    this.header = fields.header;
    this.contextValues = fields.contextValues;
    this.message = fields.message;
  }
}

const urls = new WeakMap<DescMethodUnary, string>();

/** The URL a request for `method` reports, as a network transport would build it. */
function urlOf(method: DescMethodUnary): string {
  let url = urls.get(method);
  if (url === undefined) {
    url = createMethodUrl(IN_PROCESS_BASE_URL, method);
    urls.set(method, url);
  }
  return url;
}
