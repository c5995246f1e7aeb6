/**
 * Node 20 charges about 2 µs to create an AbortSignal and 4–5 µs to abort one, more than the whole
 * in-process call is allowed to cost. Most calls never look at their signal, so this controller
 * behaves like an AbortController but creates the real AbortSignal only when someone reads
 * `signal`; if it was aborted before that, the signal is born aborted with the same reason.
 * Links between controllers of one call use plain callbacks instead of "abort" event listeners.
 */

const controllerKey = Symbol("LazyAbortController");

/**
 * The reason of an abort without one. AbortController.abort() makes a new DOMException for it each
 * time (about 4 µs, on every successful call whose handler read its signal); one made here serves
 * them all, with the same name and message.
 */
const NO_REASON = new DOMException("This operation was aborted", "AbortError");

/**
 * One getter shared by every object: V8 takes a slow path (over 1 µs) for an object literal with
 * a `get` accessor, but defining a shared accessor on a plain object afterwards stays cheap.
 */
const lazySignalProperty: PropertyDescriptor = {
  get(this: { [controllerKey]: LazyAbortController }): AbortSignal {
    return this[controllerKey].signal;
  },
  enumerable: true,
  configurable: true,
};

/**
 * Gives `target` an own, enumerable `signal` property that creates the controller's signal on first
 * read. Spreading the object (as interceptors may) reads it like any data property.
 */
export function defineLazySignal<T extends object>(
  target: T,
  controller: LazyAbortController,
): T & { readonly signal: AbortSignal } {
  // A plain assignment: defining it non-enumerable costs twice as much, and a copy of the key made
  // by a spread is harmless.
  (target as { [controllerKey]?: LazyAbortController })[controllerKey] = controller;
  return Object.defineProperty(target, "signal", lazySignalProperty) as T & { readonly signal: AbortSignal };
}

/** An AbortController that creates its AbortSignal only on first use. */
export class LazyAbortController {
  #controller: AbortController | undefined;
  #aborted = false;
  /** As passed to abort(); undefined means "no reason given" (an AbortError, made on demand). */
  #reason: unknown;
  #listeners: ((reason: unknown) => void)[] | undefined;

  /** The real AbortSignal, created on first access. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) {
        this.#controller.abort(this.#reason === undefined ? NO_REASON : this.#reason);
      }
    }
    return this.#controller.signal;
  }

  /** Whether abort() has been called. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** The abort reason as AbortSignal would report it (an AbortError when none was given). */
  get reason(): unknown {
    if (!this.#aborted) {
      return undefined;
    }
    return this.#reason === undefined ? NO_REASON : this.#reason;
  }

  /** Whether `signal` is the one this controller handed out. */
  owns(signal: AbortSignal | undefined): boolean {
    return this.#controller !== undefined && this.#controller.signal === signal;
  }

  /** Calls `listener` once when aborted, right away if already aborted. */
  onAbort(listener: (reason: unknown) => void): void {
    if (this.#aborted) {
      listener(this.#reason);
    } else if (this.#listeners === undefined) {
      this.#listeners = [listener];
    } else {
      this.#listeners.push(listener);
    }
  }

  /** Aborts this controller when `parent` aborts; returns a function that unlinks a real AbortSignal. */
  follow(parent: LazyAbortController | AbortSignal): () => void {
    if (parent instanceof LazyAbortController) {
      // Controllers live for one call, so a callback that outlives it costs nothing to keep.
      parent.onAbort((reason) => this.abort(reason));
      return noop;
    }
    if (parent.aborted) {
      this.abort(parent.reason);
      return noop;
    }
    const listener = () => this.abort(parent.reason);
    parent.addEventListener("abort", listener, { once: true });
    return () => parent.removeEventListener("abort", listener);
  }

  /** Aborts once; later calls are ignored, like AbortController.abort(). */
  abort(reason?: unknown): void {
    if (this.#aborted) {
      return;
    }
    this.#aborted = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) {
      for (const listener of listeners) {
        listener(reason);
      }
    }
    this.#controller?.abort(reason === undefined ? NO_REASON : reason);
  }
}

/**
 * Base of the objects of a call nobody copies with a spread (the handler's context, the request
 * when no interceptor sees it): `signal` is a getter on the prototype that creates it on first read.
 * Cheaper than defineLazySignal's own property (that line was 1.6 % of a cached read's CPU
 * samples), which only a spread copy needs.
 */
export abstract class WithLazySignal {
  readonly #abort: LazyAbortController;

  constructor(abort: LazyAbortController) {
    this.#abort = abort;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}

function noop(): void {}
