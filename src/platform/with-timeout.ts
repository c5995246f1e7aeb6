/**
 * `promise`, or the error `timedOut()` makes if it has not settled after `ms`. The timer is cleared
 * as soon as `promise` settles; a settlement after the timeout is ignored (never unhandled).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timedOut()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
