/**
 * Exponential backoff, the one formula every retry loop of the platform uses: the delay doubles
 * from `initialMs` with each failure in a row and never exceeds `maxMs`.
 */
export interface Backoff {
  /** The delay after the first failure. */
  initialMs: number;
  /** The longest delay. */
  maxMs: number;
}

/** The delay after `failures` failures in a row (1 for the first); 0 or less gives `initialMs`. */
export function backoffDelay(backoff: Backoff, failures: number): number {
  // Past 2^30 the product only overflows into Infinity; the cap has long been reached.
  const doublings = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** doublings);
}
