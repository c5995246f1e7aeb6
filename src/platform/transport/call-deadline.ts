/**
 * The deadline of one call over the network, on either side: when it passes, the call's abort
 * state fires `deadline_exceeded` (as Connect's deadline signal does, without making a signal).
 * Long deadlines (every call the gateway makes carries RPC_TIMEOUT_MS, and the one port caps every
 * call it serves) share timers as the in-process transport's do (deadline-wheel.ts); short ones
 * get a timer of their own, so that they fire on time.
 */
import { abortOnDeadline } from "./call-failure.js";
import { COARSE_DEADLINE_MIN_MS } from "./deadline-unary-call.js";
import { DeadlineWheel, Expiring } from "./deadline-wheel.js";
import type { LazyAbortController } from "./lazy-abort-controller.js";

/** Long deadlines fire at most this late (≤ 5 % of the shortest one that shares timers). */
const DEADLINE_SLACK_MS = 50;
const deadlines = new DeadlineWheel(DEADLINE_SLACK_MS);

/** A caller's timeout as Connect transports read it: one of 0 or less is no timeout. */
export function callTimeout(timeoutMs: number | undefined): number | undefined {
  return timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined;
}

export class CallDeadline extends Expiring {
  readonly #timer: NodeJS.Timeout | undefined;

  /** Aborts `abort` with `deadline_exceeded` in `timeoutMs`, unless cancelled first. */
  constructor(
    private readonly abort: LazyAbortController,
    timeoutMs: number,
  ) {
    super();
    if (timeoutMs >= COARSE_DEADLINE_MIN_MS) deadlines.schedule(timeoutMs, this);
    else this.#timer = setTimeout(abortOnDeadline, timeoutMs, abort);
  }

  override expire(): void {
    abortOnDeadline(this.abort);
  }

  /** The call ended in time. */
  cancel(): void {
    if (this.#timer === undefined) this.cancelDeadline();
    else clearTimeout(this.#timer);
  }
}
