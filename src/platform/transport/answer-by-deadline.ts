/**
 * A wait with a deadline of its own, for a caller whose call rides in another (a batch): what
 * `work` answers, or `deadline_exceeded` once `timeoutMs` has passed, as a call of its own would
 * have failed. Long deadlines share timers (call-deadline.ts).
 */
import { CallDeadline } from "./call-deadline.js";
import { LazyAbortController } from "./lazy-abort-controller.js";

export function answerByDeadline<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = new LazyAbortController();
    abort.onAbort(reject);
    const deadline = new CallDeadline(abort, Math.max(0, timeoutMs));
    work.then(
      (value) => {
        deadline.cancel();
        resolve(value);
      },
      (error: unknown) => {
        deadline.cancel();
        reject(error);
      },
    );
  });
}
