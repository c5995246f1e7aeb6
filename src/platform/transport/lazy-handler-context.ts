/**
 * What every HandlerContext this platform makes shares (the in-process transport's and the one
 * port's fast path's): a signal made only if asked for (WithLazySignal), and response headers and
 * trailers made only when first used — most handlers set none, and each Headers object (undici's,
 * with its argument checks) cost the cached product read ~0.2 µs (BENCHMARKS.md, "Request logs,
 * metrics and tracing").
 */
import type { HandlerContext } from "@connectrpc/connect";
import { type LazyAbortController, WithLazySignal } from "./lazy-abort-controller.js";

export abstract class LazyHandlerContext extends WithLazySignal {
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;

  get responseHeader(): Headers {
    this.#responseHeader ??= new Headers();
    return this.#responseHeader;
  }

  get responseTrailer(): Headers {
    this.#responseTrailer ??= new Headers();
    return this.#responseTrailer;
  }

  /** The response headers and trailers the handler set, undefined for those it never touched. */
  setHeaders(): { header: Headers | undefined; trailer: Headers | undefined } {
    return { header: this.#responseHeader, trailer: this.#responseTrailer };
  }
}

/**
 * The HandlerContext a handler gets from the in-process transport or as one item of a batch call
 * (batch-item-context.ts): its signal and response metadata made only when used. A spread copy
 * of it has no `signal`, `responseHeader` or `responseTrailer`; the one place that copies a
 * context (mergeRequest) sets them.
 */
export class FieldsHandlerContext extends LazyHandlerContext implements HandlerContext {
  readonly method: HandlerContext["method"];
  readonly service: HandlerContext["service"];
  readonly timeoutMs: HandlerContext["timeoutMs"];
  readonly requestMethod: string;
  readonly requestHeader: Headers;
  readonly protocolName: string;
  readonly values: HandlerContext["values"];
  readonly url: string;
  constructor(
    fields: Omit<HandlerContext, "signal" | "responseHeader" | "responseTrailer">,
    abort: LazyAbortController,
  ) {
    super(abort);
    this.method = fields.method;
    this.service = fields.service;
    this.timeoutMs = fields.timeoutMs;
    this.requestMethod = fields.requestMethod;
    this.requestHeader = fields.requestHeader;
    this.protocolName = fields.protocolName;
    this.values = fields.values;
    this.url = fields.url;
  }
}

/** A HandlerContext's `timeoutMs`: what is left until `deadline` (Date.now() ms), or undefined. */
export function timeLeftUntil(deadline: number | undefined): () => number | undefined {
  return deadline === undefined ? noTimeout : () => deadline - Date.now();
}

function noTimeout(): undefined {
  return undefined;
}
