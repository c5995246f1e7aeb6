/**
 * Feeds the projection from the bus: one durable group per source stream, shared by every process
 * hosting this module, so each event is handled by one of them. Events that arrived together are
 * applied together: their effects and ids are committed in one statement (the inbox), so a
 * redelivery changes nothing; a poison event is parked with a log line and a metric, and the
 * stream moves on.
 */
import { Buffer } from "node:buffer";
import { type Db, isTransientDatabaseError } from "../../platform/db/index.js";
import type { DeliveredEvent, EventBus, Subscription } from "../../platform/events/index.js";
import type { Logger } from "../../platform/logger.js";
import { Counter, Gauge, type Registry } from "../../platform/metrics.js";
import { parkedEvents } from "./schema.js";
import { affectsStatistics, applyEvents } from "./statistics-projection.js";

/** The durable groups the projection reads, one per source stream of events. */
export const STATISTICS_SOURCES = [
  { subjects: ["orders.order.>"], durableName: "statistics-orders" },
  { subjects: ["inventory.product.>"], durableName: "statistics-products" },
];

export class StatisticsConsumer {
  private subscriptions: { source: string; subscription: Subscription }[] = [];
  private readonly parked: Counter<"reason">;

  constructor(
    private readonly db: Db,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    metrics: Registry,
  ) {
    this.parked = new Counter({
      name: "statistics_parked_events_total",
      help: "Events the statistics projection could not apply and parked for an operator",
      labelNames: ["reason"],
      registers: [metrics],
    });
    const consumer = this;
    new Gauge({
      name: "statistics_consumer_lag",
      help: "Events published but not yet applied to the statistics projection, per source",
      labelNames: ["source"],
      registers: [metrics],
      async collect() {
        for (const { source, subscription } of consumer.subscriptions) {
          // A broker that cannot be asked leaves the last known value rather than failing the scrape.
          const pending = await subscription.pending().catch(() => undefined);
          if (pending !== undefined) this.set({ source }, pending);
        }
      },
    });
  }

  async start(): Promise<void> {
    for (const source of STATISTICS_SOURCES) {
      const subscription = await this.bus.subscribe({
        ...source,
        handler: (event) => this.handle(event),
        batchHandler: (events) => this.handleBatch(events),
        onPoison: (event, error) => this.giveUp(event, error),
      });
      this.subscriptions.push({ source: source.durableName, subscription });
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.splice(0).map(({ subscription }) => subscription.stop()));
  }

  /** Applies one event exactly once; resolves to acknowledge it. */
  handle(event: DeliveredEvent): Promise<void> {
    return this.handleBatch([event]);
  }

  /**
   * Applies events that arrived together, each exactly once, in one statement; parks those it
   * cannot use. Resolves to acknowledge them all.
   */
  async handleBatch(events: readonly DeliveredEvent[]): Promise<void> {
    const relevant = events.filter((event) => affectsStatistics(event.type));
    if (relevant.length === 0) return;
    const { poisoned } = await applyEvents(this.db, relevant);
    for (const { event, error } of poisoned) await this.park(event, error.message);
  }

  /**
   * An event that failed every delivery: parked when the failure is the event's own (its
   * statement can never succeed); kept, by throwing, when it was an outage of the database, so
   * that a long outage never parks, let alone drops, good events.
   */
  async giveUp(event: DeliveredEvent, error: unknown): Promise<void> {
    if (isTransientDatabaseError(error)) throw error;
    await this.park(event, `failed ${event.deliveryCount} times: ${String(error)}`);
  }

  private async park(event: DeliveredEvent, reason: string): Promise<void> {
    await this.db
      .insert(parkedEvents)
      .values({
        eventId: event.id,
        subject: event.subject,
        type: event.type,
        reason,
        payload: Buffer.from(event.payload).toString("base64"),
        parkedAt: new Date(),
      })
      .onConflictDoNothing();
    this.parked.inc({ reason: reason.startsWith("unknown") ? "unknown_type" : "undecodable_or_failing" });
    this.logger.error(
      { eventId: event.id, subject: event.subject, type: event.type, reason },
      "statistics event parked",
    );
  }
}
