/**
 * The event bus of a process without NATS: events go from the outbox relay straight to this
 * process's subscribers, one queue per subscription or durable group, in order. `deliver` (what
 * the relay uses) resolves only once every subscriber has handled the event, so the relay marks a
 * row only after its effects are durable: docs/guarantees.md, "No lost or doubled events".
 */
import { InterruptibleSleep } from "../interruptible-sleep.js";
import type { Logger } from "../logger.js";
import {
  assertValidSubject,
  assertValidSubscription,
  type DeliveredEvent,
  type EventBus,
  givenUp,
  type PublishedEvent,
  type RetryOptions,
  redeliveryDelay,
  type SubscribeOptions,
  type Subscription,
  subjectMatches,
} from "./event-bus.js";
import { tracedSubscription } from "./event-spans.js";

export interface InProcessBusOptions {
  logger?: Logger;
  retry?: RetryOptions;
}

interface Member {
  readonly options: SubscribeOptions;
  /** The handler call in flight, if any. */
  current: Promise<unknown> | undefined;
}

/** An event waiting in a queue; `settle` is set when someone awaits its handling (`deliver`). */
interface Queued {
  readonly event: PublishedEvent;
  readonly settle?: (error?: unknown) => void;
}

/** What the outbox relay needs of a bus that can tell when every subscriber has handled an event. */
export interface InProcessBus extends EventBus {
  /**
   * Hands the event to every subscription (or durable group) whose subjects match, and resolves
   * once each has handled it (or given it to `onPoison` after `maxDeliveries`). Rejects when a
   * handler threw, or a durable group that takes the event has no member right now: deliver the
   * same event again later; subscribers that already handled it are skipped.
   */
  deliver(event: PublishedEvent): Promise<void>;
}

class Target {
  readonly members: Member[] = [];
  private readonly queue: Queued[] = [];
  /** The event being handled, taken off the queue. */
  private current: Queued | undefined;
  /** Failed deliveries so far of events handed over with `deliver`, by event id. */
  private readonly failedDeliveries = new Map<string, number>();
  private nextMember = 0;
  private draining = false;
  private closed = false;
  private readonly pause = new InterruptibleSleep();

  constructor(
    /** For error messages: the durable group, or the subjects of a plain subscription. */
    readonly name: string,
    readonly subjects: readonly string[],
    private readonly retry: RetryOptions | undefined,
    private readonly logger: Logger | undefined,
  ) {}

  /** Events waiting, the one being handled included. */
  get backlog(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  matches(subject: string): boolean {
    return this.subjects.some((pattern) => subjectMatches(pattern, subject));
  }

  enqueue(event: PublishedEvent): void {
    this.queue.push({ event });
    this.schedule();
  }

  /** Resolves once a member has handled the event; rejects when that failed or nobody can take it. */
  handle(event: PublishedEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed || this.members.length === 0) {
        reject(new Error(`${this.name} has no member to take the event now`));
        return;
      }
      this.queue.push({ event, settle: (error) => (error === undefined ? resolve() : reject(error)) });
      this.schedule();
    });
  }

  /** Fails every awaited event still queued (the group lost its last member, or the bus closed). */
  rejectWaiting(reason: string): void {
    const waiting = this.queue.filter((item) => item.settle !== undefined);
    if (waiting.length === 0) return;
    this.queue.splice(0, this.queue.length, ...this.queue.filter((item) => item.settle === undefined));
    for (const item of waiting) item.settle?.(new Error(reason));
  }

  schedule(): void {
    if (this.draining || this.closed || this.queue.length === 0 || this.members.length === 0) return;
    this.draining = true;
    setImmediate(() => void this.drain());
  }

  close(): void {
    this.closed = true;
    this.rejectWaiting("event bus is closed");
    this.queue.length = 0;
    this.pause.interrupt();
  }

  private async drain(): Promise<void> {
    try {
      for (let item = this.queue.shift(); item; item = this.queue.shift()) {
        this.current = item;
        const done = item.settle
          ? await this.deliverOnce(item.event, item.settle)
          : await this.deliver(item.event);
        this.current = undefined;
        if (!done) {
          // No member left (or closed): keep the event for the next one.
          if (!this.closed) this.queue.unshift(item);
          break;
        }
      }
    } finally {
      this.current = undefined;
      this.draining = false;
      this.schedule();
    }
  }

  /**
   * One delivery of an awaited event: `settle` learns whether it was handled (or poisoned after
   * too many failed deliveries) or failed, in which case the caller delivers it again later.
   */
  private async deliverOnce(event: PublishedEvent, settle: (error?: unknown) => void): Promise<true> {
    if (this.closed || this.members.length === 0) {
      settle(new Error("no subscriber can take the event now"));
      return true;
    }
    const attempt = (this.failedDeliveries.get(event.id) ?? 0) + 1;
    const { member, delivered, error } = await this.handToNextMember(event, attempt);
    if (error === undefined) {
      this.failedDeliveries.delete(event.id);
      settle();
    } else if (await givenUp(member.options, delivered, error.reason, this.logger)) {
      this.failedDeliveries.delete(event.id);
      settle();
    } else {
      this.failedDeliveries.set(event.id, attempt);
      this.logger?.warn(
        { err: error.reason, eventId: event.id, subject: event.subject, attempt },
        "event handler failed; it will be delivered again",
      );
      settle(error.reason);
    }
    return true;
  }

  /**
   * One delivery to the next member in turn (there must be one): its handler runs on its own copy
   * of the bytes, as from a broker, and is the member's current call while it runs.
   */
  private async handToNextMember(
    event: PublishedEvent,
    attempt: number,
  ): Promise<{ member: Member; delivered: DeliveredEvent; error?: { reason: unknown } }> {
    const member = this.members[this.nextMember++ % this.members.length] as Member;
    const delivered: DeliveredEvent = {
      ...event,
      payload: event.payload.slice(),
      redelivered: attempt > 1,
      deliveryCount: attempt,
    };
    const call = (async () => member.options.handler(delivered))();
    member.current = call;
    try {
      await call;
      return { member, delivered };
    } catch (reason) {
      return { member, delivered, error: { reason } };
    } finally {
      if (member.current === call) member.current = undefined;
    }
  }

  /** Delivers until a member acks it or it is poisoned (true), or nobody is left to take it (false). */
  private async deliver(event: PublishedEvent): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed || this.members.length === 0) return false;
      const { member, delivered, error } = await this.handToNextMember(event, attempt);
      if (error === undefined) return true;
      if (await givenUp(member.options, delivered, error.reason, this.logger)) return true;
      const delayMs = redeliveryDelay(this.retry, attempt);
      this.logger?.warn(
        { err: error.reason, eventId: event.id, subject: event.subject, attempt, delayMs },
        "event handler failed; redelivering",
      );
      await this.pause.sleep(delayMs);
    }
  }
}

export function createInProcessBus(options: InProcessBusOptions = {}): InProcessBus {
  return new InProcessEventBus(options);
}

class InProcessEventBus implements InProcessBus {
  private readonly targets = new Set<Target>();
  private readonly groups = new Map<string, Target>();
  /** For events whose `deliver` failed somewhere: the subscriptions that did handle them. */
  private readonly handledBy = new Map<string, Set<Target>>();
  private closed = false;

  constructor(private readonly options: InProcessBusOptions) {}

  async publish(event: PublishedEvent): Promise<void> {
    this.assertOpen();
    assertValidSubject(event.subject, { wildcards: false });
    for (const target of this.targets) {
      if (target.matches(event.subject)) target.enqueue(event);
    }
  }

  async deliver(event: PublishedEvent): Promise<void> {
    this.assertOpen();
    assertValidSubject(event.subject, { wildcards: false });
    const handled = this.handledBy.get(event.id) ?? new Set<Target>();
    const results = await Promise.allSettled(
      [...this.targets]
        .filter((target) => target.matches(event.subject) && !handled.has(target))
        .map(async (target) => {
          await target.handle(event);
          handled.add(target);
        }),
    );
    const failed = results.find((result) => result.status === "rejected");
    if (failed === undefined) {
      this.handledBy.delete(event.id);
      return;
    }
    this.handledBy.set(event.id, handled);
    throw failed.reason;
  }

  async subscribe(untraced: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    assertValidSubscription(untraced);
    const subscribeOptions = tracedSubscription(untraced);
    const target = this.targetFor(subscribeOptions);
    const member: Member = { options: subscribeOptions, current: undefined };
    target.members.push(member);
    target.schedule();
    let stopped = false;
    const { durableName } = subscribeOptions;
    const targets = this.targets;
    return {
      async stop() {
        if (!stopped) {
          stopped = true;
          const index = target.members.indexOf(member);
          if (index >= 0) target.members.splice(index, 1);
          // Whoever awaits these hears so at once rather than waiting for a member to come back.
          if (target.members.length === 0)
            target.rejectWaiting(`${durableName ?? "the subscription"} stopped`);
          if (durableName === undefined) {
            target.close();
            targets.delete(target);
          }
        }
        await member.current?.catch(() => {});
      },
      pending: async () => target.backlog,
    };
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
    const inFlight: Promise<unknown>[] = [];
    for (const target of this.targets) {
      for (const member of target.members) if (member.current) inFlight.push(member.current);
      target.close();
    }
    this.targets.clear();
    this.groups.clear();
    this.handledBy.clear();
    await Promise.allSettled(inFlight);
  }

  /** The durable group's target (which must subscribe to the same subjects), or a new one. */
  private targetFor(subscribeOptions: SubscribeOptions): Target {
    const { durableName, subjects } = subscribeOptions;
    const existing = durableName === undefined ? undefined : this.groups.get(durableName);
    if (existing) {
      const same =
        existing.subjects.length === subjects.length &&
        existing.subjects.every((subject, i) => subject === subjects[i]);
      if (!same) throw new Error(`durable group ${durableName} already subscribes to other subjects`);
      return existing;
    }
    const name =
      durableName === undefined
        ? `the subscription to ${subjects.join(", ")}`
        : `durable group ${durableName}`;
    const target = new Target(name, [...subjects], this.options.retry, this.options.logger);
    this.targets.add(target);
    if (durableName !== undefined) this.groups.set(durableName, target);
    return target;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("event bus is closed");
  }
}
