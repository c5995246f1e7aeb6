/**
 * A pause that its owner can end early: a retry loop's backoff or a poll interval that `stop()`
 * (or new work) cuts short instead of waiting out. One sleep at a time per instance.
 */
export class InterruptibleSleep {
  private interruptCurrent: (() => void) | undefined;

  /** Resolves after `ms`, or as soon as {@link interrupt} is called. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.end(resolve), ms);
      this.interruptCurrent = () => {
        clearTimeout(timer);
        this.end(resolve);
      };
    });
  }

  /** Ends the sleep in progress, if any; the next one sleeps in full again. */
  interrupt(): void {
    this.interruptCurrent?.();
  }

  private end(resolve: () => void): void {
    this.interruptCurrent = undefined;
    resolve();
  }
}
