/**
 * Publishes a module's outbox rows to the event bus and deletes them: batches in `seq` order under
 * `FOR UPDATE SKIP LOCKED`, stopping at the first refusal and retrying after a backoff; to the
 * in-process bus, row by row through `deliver`. Why that loses and doubles nothing:
 * docs/guarantees.md, "No lost or doubled events".
 */
import { asc, count } from "drizzle-orm";
import { backoffDelay } from "../backoff.js";
import { anyOf } from "../db/any-of.js";
import type { Db, Tx } from "../db/database.js";
import { InterruptibleSleep } from "../interruptible-sleep.js";
import type { Logger } from "../logger.js";
import type { Registry } from "../metrics.js";
import { logsFailure } from "../rate-limited-log.js";
import type { EventBus, PublishedEvent } from "./event-bus.js";
import { type RelayMetrics, relayMetrics } from "./outbox-relay-metrics.js";
import { deliverInTurn, publishTogether, type Sent } from "./outbox-sending.js";
import type { OutboxRow, OutboxTable } from "./outbox-table.js";

export interface OutboxRelayOptions {
  db: Db;
  table: OutboxTable;
  bus: Pick<EventBus, "publish"> & {
    /**
     * When the bus has it (the in-process bus), used instead of `publish`: resolves once every
     * subscriber has handled the event, rejects when one failed (the row is delivered again later).
     */
    deliver?(event: PublishedEvent): Promise<void>;
  };
  logger: Logger;
  /** Names this outbox in logs and in the `outbox` label of the metrics, e.g. `inventory`. */
  name: string;
  /** Rows per transaction. Default 100. */
  batchSize?: number;
  /** How often to look for rows nobody woke us up for (other processes, missed wakes). Default 1000 ms. */
  pollIntervalMs?: number;
  /** How long a wake waits for more commits before publishing, to batch them (default 10 ms). */
  batchWindowMs?: number;
  /** First pause after a failed run; doubles on each failure in a row. Default 100 ms. */
  minBackoffMs?: number;
  /** Longest pause after failed runs. Default 5000 ms. */
  maxBackoffMs?: number;
  /** Where to register `outbox_backlog`, `outbox_published_total`, `outbox_publish_failures_total`. */
  metrics?: Registry;
}

export interface RunResult {
  published: number;
  /** Set when the run stopped early; the rows from the failed one on are still unpublished. */
  error?: unknown;
}

export class OutboxRelay {
  readonly name: string;
  private readonly db: Db;
  private readonly table: OutboxTable;
  private readonly bus: OutboxRelayOptions["bus"];
  private readonly logger: Logger;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly batchWindowMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly metrics: RelayMetrics | undefined;

  private running = false;
  private loop: Promise<void> | undefined;
  private wakeRequested = false;
  /** The wait between runs: stop() ends it, and so does wake() while it is the idle poll. */
  private readonly pause = new InterruptibleSleep();
  /** Whether the wait in progress is the idle poll (not a backoff or the batch window). */
  private idle = false;
  /** Whether the last run of the loop failed (then stop() does not try a flush). */
  private lastRunFailed = false;

  constructor(options: OutboxRelayOptions) {
    this.name = options.name;
    this.db = options.db;
    this.table = options.table;
    this.bus = options.bus;
    this.logger = options.logger.child({ component: "outbox-relay", outbox: options.name });
    this.batchSize = options.batchSize ?? 100;
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.batchWindowMs = options.batchWindowMs ?? 10;
    this.minBackoffMs = options.minBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.metrics = options.metrics ? relayMetrics(options.metrics) : undefined;
  }

  /** Starts publishing in the background (no-op when already started). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastRunFailed = false;
    this.metrics?.relays.add(this);
    this.loop = this.run();
  }

  /**
   * Stops after the batch in progress (if any) has been published and committed, then publishes
   * what is still waiting for up to `flushMs` more (default 1 s; not when the bus was failing), so
   * that events committed just before a shutdown leave with this process rather than wait for the
   * next relay to start. Whatever is left stays in the table for that relay.
   */
  async stop(options: { flushMs?: number } = {}): Promise<void> {
    const wasRunning = this.running;
    this.running = false;
    this.pause.interrupt();
    await this.loop;
    this.loop = undefined;
    if (wasRunning && !this.lastRunFailed) await this.flush(options.flushMs ?? 1_000);
    this.metrics?.relays.delete(this);
  }

  /** Runs batches until the table has nothing left, a run fails, or `budgetMs` has passed. */
  private async flush(budgetMs: number): Promise<void> {
    const until = Date.now() + budgetMs;
    while (Date.now() < until) {
      const result = await this.runOnce();
      if (result.error !== undefined) {
        this.logger.warn(
          { err: result.error },
          "outbox flush at stop failed; the rest waits for the next relay",
        );
        return;
      }
      if (result.published < this.batchSize) return;
    }
  }

  /**
   * Asks for a run soon: call it after committing a transaction that appended events. Wakes that
   * arrive during a run collapse into one more run; during a backoff after a failure they wait
   * for the backoff to end.
   */
  wake(): void {
    this.wakeRequested = true;
    if (this.idle) this.pause.interrupt();
  }

  /** Number of rows not yet published: every row the table holds. */
  async backlog(): Promise<number> {
    const [row] = await this.db.select({ n: count() }).from(this.table);
    return row?.n ?? 0;
  }

  /**
   * One batch: publishes up to `batchSize` rows and deletes them. Resolves with what happened; it
   * does not throw. Exposed for tools and tests; the started relay calls it on its own.
   */
  async runOnce(): Promise<RunResult> {
    const deliver = this.bus.deliver?.bind(this.bus);
    let sent: Sent = { done: [] };
    try {
      if (deliver !== undefined) {
        // A bus whose `deliver` resolves only once every subscriber has handled the event: the
        // rows are read and deleted in statements of their own, with no transaction held while the
        // handlers run (PGlite runs one transaction at a time, so a handler writing to the
        // database would wait forever for the relay's), and deleted only after their delivery. A
        // crash in between leaves them in place, to be delivered again after the restart;
        // subscribers are idempotent. Without the row lock, relays of several processes on one
        // database may both deliver a row, each to its own process's subscribers: at least once,
        // as everywhere else.
        sent = await deliverInTurn(await this.oldest(this.db, false), deliver);
        await this.deletePublished(this.db, sent.done);
      } else {
        await this.db.transaction(async (tx) => {
          sent = await publishTogether(await this.oldest(tx, true), this.bus);
          await this.deletePublished(tx, sent.done);
        });
      }
    } catch (error) {
      // The database failed: nothing was deleted, and whatever was sent is sent again later.
      this.metrics?.failures.inc({ outbox: this.name });
      return { published: 0, error };
    }
    const published = sent.done.length;
    if (published > 0) this.metrics?.published.inc({ outbox: this.name }, published);
    if (sent.error === undefined) return { published };
    this.metrics?.failures.inc({ outbox: this.name });
    return { published, error: sent.error.reason };
  }

  /** The next batch of rows in `seq` order; `lock`: FOR UPDATE SKIP LOCKED. */
  private oldest(db: Db | Tx, lock: boolean): Promise<OutboxRow[]> {
    const query = db.select().from(this.table).orderBy(asc(this.table.seq)).limit(this.batchSize);
    return lock ? query.for("update", { skipLocked: true }) : query;
  }

  /**
   * Published rows leave the table: a delete writes less than marking them (no new row version, no
   * index entry), and the table keeps only what waits, so no statement on it grows with history.
   */
  private async deletePublished(db: Db | Tx, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await db.delete(this.table).where(anyOf(this.table.id, ids));
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      // After a wake, gather the commits that land in the next few milliseconds into the same
      // batch: under load this turns one relay transaction per change into one per window.
      if (this.wakeRequested && this.batchWindowMs > 0) await this.wait(this.batchWindowMs, false);
      this.wakeRequested = false;
      const result = await this.runOnce();
      this.lastRunFailed = result.error !== undefined;
      if (!this.running) break;
      if (result.error !== undefined) {
        failures++;
        const delay = backoffDelay({ initialMs: this.minBackoffMs, maxMs: this.maxBackoffMs }, failures);
        const jittered = Math.round(delay * (0.8 + Math.random() * 0.4));
        const context = { err: result.error, published: result.published, failures, retryInMs: jittered };
        if (logsFailure(failures, 20)) this.logger.warn(context, "outbox publish failed; will retry");
        else this.logger.debug(context, "outbox publish failed again");
        await this.wait(jittered, false);
        continue;
      }
      if (failures > 0) this.logger.info({ failures }, "outbox publishing recovered");
      failures = 0;
      // A full batch means there is probably more; a wake during the run means new rows.
      if (result.published >= this.batchSize || this.wakeRequested) continue;
      await this.wait(this.pollIntervalMs, true);
    }
  }

  private async wait(ms: number, wakeable: boolean): Promise<void> {
    this.idle = wakeable;
    try {
      await this.pause.sleep(ms);
    } finally {
      this.idle = false;
    }
  }
}
