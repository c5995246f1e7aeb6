/**
 * The outbox relay's instruments: rows published, runs that failed, and the backlog each relay
 * reports when scraped. docs/operations.md says what each means and when to worry.
 */
import { Counter, Gauge, perRegistry } from "../metrics.js";

/** What the backlog gauge asks of a relay. */
export interface RelayedOutbox {
  readonly name: string;
  backlog(): Promise<number>;
}

export interface RelayMetrics {
  readonly published: Counter<"outbox">;
  readonly failures: Counter<"outbox">;
  /** The relays whose backlog the shared gauge reports at collection time. */
  readonly relays: Set<RelayedOutbox>;
}

/** One set of instruments per registry, shared by every relay on it (one `outbox` label each). */
export const relayMetrics = perRegistry((registry): RelayMetrics => {
  const relays = new Set<RelayedOutbox>();
  new Gauge({
    name: "outbox_backlog",
    help: "Outbox rows not yet published to the event bus.",
    labelNames: ["outbox"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        [...relays].map(async (relay) => {
          try {
            this.set({ outbox: relay.name }, await relay.backlog());
          } catch {
            // Database unreachable: leave the series out rather than fail the whole scrape.
          }
        }),
      );
    },
  });
  return {
    relays,
    published: new Counter({
      name: "outbox_published_total",
      help: "Outbox events published to the event bus.",
      labelNames: ["outbox"] as const,
      registers: [registry],
    }),
    failures: new Counter({
      name: "outbox_publish_failures_total",
      help: "Outbox relay runs that stopped because publishing (or the database) failed.",
      labelNames: ["outbox"] as const,
      registers: [registry],
    }),
  };
});
