/**
 * The hub behind WatchOrders: one subscription of this process to the module's order events,
 * fanned out to every watcher (order-watcher.ts), held only while someone watches, so that orders
 * cost nothing more when no admin is looking.
 *
 * The subscription has no durable group: it sees every event published from the moment it was
 * made, on its own, so with replicas each process sees every event whichever relay published it,
 * and nothing is left behind on the broker when the last watcher leaves (a private JetStream
 * consumer is deleted). A watcher sees the events published once it joined; what happened while
 * nobody watched is in the orders themselves (docs/architecture.md, "Live order events").
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { DeliveredEvent, EventBus, Subscription } from "../../platform/events/index.js";
import type { Logger } from "../../platform/logger.js";
import { decodeOrderEvent, EVERY_ORDER_SUBJECT } from "./order-events.js";
import { OrderWatcher } from "./order-watcher.js";

export interface OrderWatchOptions {
  bus: EventBus;
  logger: Logger;
  /** Events one watcher may have waiting before its watch ends (resource_exhausted). Default 1,000. */
  queueLimit?: number;
}

export const DEFAULT_WATCH_QUEUE_LIMIT = 1_000;

export class OrderWatch {
  private readonly watchers = new Set<OrderWatcher>();
  /** The subscription while someone watches (it may still be being made). */
  private subscription: Promise<Subscription> | undefined;
  /** Subscriptions being stopped, awaited by `close`. */
  private readonly stopping = new Set<Promise<void>>();
  private closed = false;
  private readonly queueLimit: number;

  constructor(private readonly options: OrderWatchOptions) {
    this.queueLimit = options.queueLimit ?? DEFAULT_WATCH_QUEUE_LIMIT;
  }

  /** Watchers right now. */
  get watching(): number {
    return this.watchers.size;
  }

  /**
   * A watcher of the order events published from now on: resolves once the subscription is in
   * place. The watch ends when `signal` aborts, when the reader stops reading, or at `close`.
   * Fails with unavailable once the hub is closed (the process is stopping) or when the bus
   * refuses the subscription.
   */
  async open(signal: AbortSignal): Promise<OrderWatcher> {
    if (this.closed) throw stopping();
    const watcher = new OrderWatcher(this.queueLimit, (ended) => this.leave(ended));
    this.watchers.add(watcher);
    watcher.endOn(signal);
    // Gone already (the watcher has ended): no subscription, on JetStream a consumer, made for nobody.
    if (signal.aborted) return watcher;
    try {
      await this.subscribed();
    } catch (error) {
      watcher.end();
      if (this.closed) throw stopping();
      this.options.logger.warn({ err: error }, "could not subscribe to order events for a watcher");
      throw new ConnectError("order events cannot be watched right now; retry later", Code.Unavailable);
    } finally {
      // Every watcher may have left while the subscription was being made.
      this.releaseIfIdle();
    }
    // Closed while subscribing: `close` has ended the watcher, whose reader sees a clean end.
    return watcher;
  }

  /** Ends every watch and stops the subscription; later watches fail. Calling it again is harmless. */
  async close(): Promise<void> {
    this.closed = true;
    for (const watcher of [...this.watchers]) watcher.end();
    await Promise.all([...this.stopping]);
  }

  private async subscribed(): Promise<void> {
    if (this.subscription === undefined) {
      const subscribing = this.options.bus.subscribe({
        subjects: [EVERY_ORDER_SUBJECT],
        handler: async (event) => this.fanOut(event),
      });
      this.subscription = subscribing;
      subscribing.catch(() => {
        if (this.subscription === subscribing) this.subscription = undefined;
      });
    }
    await this.subscription;
  }

  private leave(watcher: OrderWatcher): void {
    this.watchers.delete(watcher);
    this.releaseIfIdle();
  }

  /** Stops the subscription once nobody watches. */
  private releaseIfIdle(): void {
    if (this.watchers.size > 0 || this.subscription === undefined) return;
    const subscription = this.subscription;
    this.subscription = undefined;
    const stopped = subscription
      .then((made) => made.stop())
      .catch((error: unknown) => {
        this.options.logger.warn({ err: error }, "could not stop the subscription to order events");
      })
      .finally(() => this.stopping.delete(stopped));
    this.stopping.add(stopped);
  }

  /** Never throws: a live view is not worth redelivering to, and one bad event must not stop it. */
  private fanOut(delivered: DeliveredEvent): void {
    let event: ReturnType<typeof decodeOrderEvent>;
    try {
      event = decodeOrderEvent(delivered);
    } catch (error) {
      this.options.logger.warn(
        { err: error, eventId: delivered.id, subject: delivered.subject },
        "an order event could not be read; watchers do not see it",
      );
      return;
    }
    if (event === undefined) return;
    for (const watcher of this.watchers) watcher.push(event);
  }
}

function stopping(): ConnectError {
  return new ConnectError("the server is stopping; watch again", Code.Unavailable);
}
