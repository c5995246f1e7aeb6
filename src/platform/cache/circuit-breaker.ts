/**
 * RedisStore's circuit breaker: `threshold` failures in a row open it for `openMs`, during which
 * operations are skipped at once instead of each waiting out its timeout; after that they try
 * again, and one more failure reopens it. docs/cache-protocol.md, "(d)".
 */
export class CircuitBreaker {
  readonly openMs: number;
  readonly #threshold: number;
  #consecutiveFailures = 0;
  #openUntil = 0;

  constructor(threshold: number, openMs: number) {
    this.#threshold = threshold;
    this.openMs = openMs;
  }

  /** True while operations are to be skipped. */
  get open(): boolean {
    return Date.now() < this.#openUntil;
  }

  succeeded(): void {
    this.#consecutiveFailures = 0;
  }

  failed(): void {
    this.#consecutiveFailures++;
    const opening = this.#consecutiveFailures >= this.#threshold && !this.open;
    if (opening) this.#openUntil = Date.now() + this.openMs;
  }

  /** Closes the breaker and forgets the failures (the connection is ready again). */
  reset(): void {
    this.#consecutiveFailures = 0;
    this.#openUntil = 0;
  }
}
