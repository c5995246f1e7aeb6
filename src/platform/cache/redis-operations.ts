/**
 * How RedisStore runs each Redis operation, so that Redis trouble slows reads but never fails
 * them: skipped at once while the store is closed or the circuit breaker is open, else bounded by
 * a timeout and chained after the previous operation on the same key (an invalidation is never
 * overtaken by an earlier read's marker or fill). A failure is counted, logged (rate-limited) and
 * fed to the breaker, never thrown: the operation answers SKIPPED.
 * docs/cache-protocol.md, "Per-key order" and "(d) Redis cannot take an invalidation".
 */
import type { Logger } from "../logger.js";
import { Counter, perRegistry, type Registry } from "../metrics.js";
import { errorMessage, rateLimitedWarn } from "../rate-limited-log.js";
import { withTimeout } from "../with-timeout.js";
import type { CircuitBreaker } from "./circuit-breaker.js";

/** Marks an operation that did not reach Redis (breaker open, store closed, failed). */
export const SKIPPED = Symbol("skipped");

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis operation timed out after ${ms} ms`);
    this.name = "TimeoutError";
  }
}

interface Instruments {
  errors: Counter<"op">;
  skipped: Counter<"op">;
}

const instrumentsFor = perRegistry((registry): Instruments => {
  const counter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ["op"], registers: [registry] });
  return {
    errors: counter("cache_redis_errors_total", "Redis operations that failed or timed out."),
    skipped: counter(
      "cache_redis_skipped_total",
      "Redis operations skipped because the circuit breaker was open.",
    ),
  };
});

export interface RedisOperationsOptions {
  /** Upper bound of one operation, unless the operation names its own. */
  opTimeoutMs: number;
  breaker: CircuitBreaker;
  /** True once the store is closed: operations are skipped. */
  isClosed: () => boolean;
  logger: Logger;
  metrics: Registry | undefined;
}

export class RedisOperations {
  readonly #opTimeoutMs: number;
  readonly #breaker: CircuitBreaker;
  readonly #isClosed: () => boolean;
  readonly #instruments: Instruments | undefined;
  readonly #warn: (fields: Record<string, unknown>, message: string) => void;
  /** Per key, the last operation issued (so operations on one key stay in call order). */
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(options: RedisOperationsOptions) {
    this.#opTimeoutMs = options.opTimeoutMs;
    this.#breaker = options.breaker;
    this.#isClosed = options.isClosed;
    this.#instruments = options.metrics === undefined ? undefined : instrumentsFor(options.metrics);
    this.#warn = rateLimitedWarn(options.logger, 10_000);
  }

  /**
   * Runs one operation on `key` (`name` labels its metrics and logs). `skipIf` is asked when the
   * operation is issued and again when its turn comes. Never rejects: a failure answers SKIPPED.
   */
  run<R>(
    name: string,
    key: string,
    run: () => Promise<R>,
    options: { skipIf?: () => boolean; timeoutMs?: number } = {},
  ): Promise<R | typeof SKIPPED> {
    if (this.#mustSkip(name, options.skipIf)) return Promise.resolve(SKIPPED);
    const previous = this.#tails.get(key);
    const attempt = async (): Promise<R | typeof SKIPPED> => {
      if (previous !== undefined) {
        await previous;
        // The breaker may have opened (or the store closed) while waiting for the previous one.
        if (this.#mustSkip(name, options.skipIf)) return SKIPPED;
      }
      try {
        const result = await this.bounded(run(), options.timeoutMs);
        this.#breaker.succeeded();
        return result;
      } catch (error) {
        this.#failed(name, key, error);
        return SKIPPED;
      }
    };
    const promise = attempt();
    this.#tails.set(key, promise);
    void promise.then(() => {
      if (this.#tails.get(key) === promise) this.#tails.delete(key);
    });
    return promise;
  }

  /** `promise`, rejected with a TimeoutError when it takes longer than `timeoutMs`. */
  bounded<R>(promise: Promise<R>, timeoutMs = this.#opTimeoutMs): Promise<R> {
    return withTimeout(promise, timeoutMs, () => new TimeoutError(timeoutMs));
  }

  /** Resolves once every operation issued so far has settled (each is bounded by its timeout). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#tails.values()]);
  }

  #mustSkip(name: string, skipIf: (() => boolean) | undefined): boolean {
    if (this.#isClosed() || skipIf?.()) return true;
    if (!this.#breaker.open) return false;
    this.#instruments?.skipped.inc({ op: name });
    return true;
  }

  #failed(op: string, key: string, error: unknown): void {
    this.#instruments?.errors.inc({ op });
    this.#breaker.failed();
    this.#warn(
      { op, key, err: errorMessage(error), breakerOpen: this.#breaker.open },
      "redis cache operation failed; treated as a miss",
    );
  }
}
