/**
 * The life of a process as an ordered list of steps, each with its start and its stop: steps start
 * in the order they are run and stop in the reverse order, once. A step's stop is registered
 * before its start runs, so a start that fails halfway is undone with the steps before it; a stop
 * must therefore cope with a start that did not finish.
 */
import type { Logger } from "./logger.js";

export interface StopOptions {
  /** How long requests in progress get to finish before their connections are cut. Default 10 s. */
  drainMs?: number;
}

export interface StopReport {
  /** What was cut short, in words (for logs and the exit code); empty after a clean stop. */
  abandoned: string[];
}

export interface Step<T = void> {
  readonly name: string;
  /** Starts the step; what it resolves to is what `run` resolves to, and what `stop` is given. */
  start(): Promise<T> | T;
  /**
   * Stops what `start` started (`started` is undefined when `start` did not finish); resolves with
   * a description of what it had to abandon, if anything.
   */
  stop(started: T | undefined, options: StopOptions): Promise<unknown> | undefined;
  /** Live detail for the progress report while this step stops (e.g. the connections still open). */
  describe?(started: T | undefined): string;
}

interface Entry {
  readonly step: Step<unknown>;
  started: unknown;
}

export class Lifecycle {
  /** In start order. */
  private readonly entries: Entry[] = [];
  private stopping: Promise<StopReport> | undefined;
  /** While stopping: the steps not stopped yet, in stop order. */
  private remaining: Entry[] = [];

  constructor(private readonly logger: Logger) {}

  /** Registers `step` (so it is stopped even if its start fails halfway), then starts it. */
  async run<T>(step: Step<T>): Promise<T> {
    const entry: Entry = { step: step as Step<unknown>, started: undefined };
    this.entries.push(entry);
    const started = await step.start();
    entry.started = started;
    return started;
  }

  /** Stops every step run so far, last first; a step that fails to stop is logged and passed. */
  stop(options: StopOptions = {}): Promise<StopReport> {
    this.stopping ??= this.stopAll(options);
    return this.stopping;
  }

  /** While a stop runs: the steps not finished yet, described (for a log line if a deadline hits). */
  progress(): string[] {
    return this.remaining.map(({ step, started }, index) => {
      const detail = index === 0 && step.describe ? `: ${step.describe(started)}` : "";
      return `${step.name}${index === 0 ? " (in progress)" : " (not started)"}${detail}`;
    });
  }

  private async stopAll(options: StopOptions): Promise<StopReport> {
    const abandoned: string[] = [];
    this.remaining = this.entries.splice(0).reverse();
    while (this.remaining.length > 0) {
      const { step, started } = this.remaining[0] as Entry;
      try {
        const result = await step.stop(started, options);
        if (typeof result === "string") abandoned.push(`${step.name}: ${result}`);
      } catch (error) {
        this.logger.warn({ err: error, step: step.name }, "error while stopping");
      }
      this.remaining.shift();
    }
    return { abandoned };
  }
}
