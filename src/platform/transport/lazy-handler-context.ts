/**
 * What every HandlerContext this platform makes shares (the in-process transport's and the one
 * port's fast path's): a signal made only if asked for (WithLazySignal), and response headers and
 * trailers made only when first used — most handlers set none, and each Headers object (undici's,
 * with its argument checks) cost the cached product read ~0.2 µs (BENCHMARKS.md, "Request logs,
 * metrics and tracing").
 */
import { WithLazySignal } from "./lazy-abort-controller.js";

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

/** A HandlerContext's `timeoutMs`: what is left until `deadline` (Date.now() ms), or undefined. */
export function timeLeftUntil(deadline: number | undefined): () => number | undefined {
  return deadline === undefined ? noTimeout : () => deadline - Date.now();
}

function noTimeout(): undefined {
  return undefined;
}
