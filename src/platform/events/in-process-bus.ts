/**
 * The event bus of a process that has no NATS: events go from the outbox relay straight to this
 * process's subscribers.
 *
 * - Delivery is asynchronous: `publish` only enqueues, handlers run later on their own stack.
 * - Each subscription (or durable group) has one queue handled one event at a time, so its events
 *   arrive in publish order, and a failing event is retried in place (with backoff) before the
 *   next one is delivered.
 * - A durable group hands each event to one of its members (round robin) and keeps queueing while
 *   it has no member.
 *
 * The queue lives in memory: an event the relay has marked published but no handler has finished
 * yet is lost if the process dies. That is the price of running without a broker.
 */
import type { Logger } from "../logger.js";
import {
  assertValidSubject,
  DEFAULT_MAX_DELIVERIES,
  type DeliveredEvent,
  type EventBus,
  type PublishedEvent,
  poison,
  type RetryOptions,
  redeliveryDelay,
  type SubscribeOptions,
  type Subscription,
  subjectMatches,
} from "./event-bus.js";

export interface InProcessBusOptions {
  logger?: Logger;
  retry?: RetryOptions;
}

interface Member {
  readonly options: SubscribeOptions;
  /** The handler call in flight, if any. */
  current: Promise<unknown> | undefined;
}

class Target {
  readonly members: Member[] = [];
  private readonly queue: PublishedEvent[] = [];
  private nextMember = 0;
  private draining = false;
  private closed = false;
  private cancelSleep: (() => void) | undefined;

  constructor(
    readonly subjects: readonly string[],
    private readonly retry: RetryOptions | undefined,
    private readonly logger: Logger | undefined,
  ) {}

  /** Events waiting, the one being handled included. */
  get backlog(): number {
    return this.queue.length;
  }

  matches(subject: string): boolean {
    return this.subjects.some((pattern) => subjectMatches(pattern, subject));
  }

  enqueue(event: PublishedEvent): void {
    this.queue.push(event);
    this.schedule();
  }

  schedule(): void {
    if (this.draining || this.closed || this.queue.length === 0 || this.members.length === 0) return;
    this.draining = true;
    setImmediate(() => void this.drain());
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.cancelSleep?.();
  }

  private async drain(): Promise<void> {
    try {
      for (let event = this.queue[0]; event && !this.closed; event = this.queue[0]) {
        if (!(await this.deliver(event))) break; // no member left: keep the event for the next one
        this.queue.shift();
      }
    } finally {
      this.draining = false;
      this.schedule();
    }
  }

  /** Delivers until a member acks it or it is poisoned (true), or nobody is left to take it (false). */
  private async deliver(event: PublishedEvent): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed || this.members.length === 0) return false;
      const member = this.members[this.nextMember++ % this.members.length] as Member;
      // Each delivery gets its own copy of the bytes, as it would from a broker.
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
        return true;
      } catch (error) {
        const maxDeliveries = member.options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES;
        if (attempt >= maxDeliveries) {
          await poison(member.options, delivered, error, this.logger);
          return true;
        }
        const delayMs = redeliveryDelay(this.retry, attempt);
        this.logger?.warn(
          { err: error, eventId: event.id, subject: event.subject, attempt, delayMs },
          "event handler failed; redelivering",
        );
        await this.sleep(delayMs);
      } finally {
        if (member.current === call) member.current = undefined;
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.cancelSleep = done;
    });
  }
}

export function createInProcessBus(options: InProcessBusOptions = {}): EventBus {
  const targets = new Set<Target>();
  const groups = new Map<string, Target>();
  let closed = false;

  const bus: EventBus = {
    async publish(event) {
      if (closed) throw new Error("event bus is closed");
      assertValidSubject(event.subject, { wildcards: false });
      for (const target of targets) {
        if (target.matches(event.subject)) target.enqueue(event);
      }
    },

    async subscribe(subscribeOptions) {
      if (closed) throw new Error("event bus is closed");
      if (subscribeOptions.subjects.length === 0) throw new Error("subscribe needs at least one subject");
      for (const subject of subscribeOptions.subjects) assertValidSubject(subject, { wildcards: true });
      const { durableName } = subscribeOptions;
      let target = durableName === undefined ? undefined : groups.get(durableName);
      if (target) {
        const same =
          target.subjects.length === subscribeOptions.subjects.length &&
          target.subjects.every((subject, i) => subject === subscribeOptions.subjects[i]);
        if (!same) throw new Error(`durable group ${durableName} already subscribes to other subjects`);
      } else {
        target = new Target([...subscribeOptions.subjects], options.retry, options.logger);
        targets.add(target);
        if (durableName !== undefined) groups.set(durableName, target);
      }
      const member: Member = { options: subscribeOptions, current: undefined };
      target.members.push(member);
      target.schedule();
      const joined = target;
      let stopped = false;
      const subscription: Subscription = {
        async stop() {
          if (!stopped) {
            stopped = true;
            const index = joined.members.indexOf(member);
            if (index >= 0) joined.members.splice(index, 1);
            if (durableName === undefined) {
              joined.close();
              targets.delete(joined);
            }
          }
          await member.current?.catch(() => {});
        },
        pending: async () => joined.backlog,
      };
      return subscription;
    },

    async ping() {
      if (closed) throw new Error("event bus is closed");
    },

    async close() {
      closed = true;
      const inFlight: Promise<unknown>[] = [];
      for (const target of targets) {
        for (const member of target.members) if (member.current) inFlight.push(member.current);
        target.close();
      }
      targets.clear();
      groups.clear();
      await Promise.allSettled(inFlight);
    },
  };
  return bus;
}
