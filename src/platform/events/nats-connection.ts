/**
 * The JetStream bus's one connection to NATS, kept up in the background: the process starts
 * whether or not NATS is reachable and goes on through outages.
 *
 * Its life is a small state machine, every change made by {@link NatsConnection.setState}:
 *
 *     connecting ──ok──▶ connected ◀──reconnect── reconnecting
 *         │                 │   └──disconnect──────────▲
 *       fails          conn closed (given up)
 *         ▼                 ▼
 *      waiting ◀────────────┘        (any state) ──close()──▶ closed
 *         └──backoff over──▶ connecting
 *
 * nats.js reconnects a connection it lost on its own ("reconnecting"); only when it gives up
 * does the connection close and this class connect anew after a backoff ("waiting"). Each entry
 * into "connected" is a new state object: what is cached per connection (the JetStream manager,
 * the checked stream) keys on it, so a reconnect checks again.
 */
import { connect, Events, type JetStreamClient, type NatsConnection as NatsClientConnection } from "nats";
import { backoffDelay } from "../backoff.js";
import { InterruptibleSleep } from "../interruptible-sleep.js";
import type { Logger } from "../logger.js";
import { logsFailure } from "../rate-limited-log.js";
import { redactUrl } from "../redact-url.js";
import { withTimeout } from "../with-timeout.js";

export interface ConnectedState {
  readonly kind: "connected";
  readonly conn: NatsClientConnection;
  readonly js: JetStreamClient;
}

export type ConnectionState =
  | { readonly kind: "connecting"; readonly failures: number }
  | ConnectedState
  /** Lost; nats.js is reconnecting the same connection. */
  | { readonly kind: "reconnecting"; readonly conn: NatsClientConnection; readonly js: JetStreamClient }
  /** Between connect attempts, after `failures` failed ones in a row. */
  | { readonly kind: "waiting"; readonly failures: number }
  | { readonly kind: "closed" };

export interface NatsConnectionOptions {
  /** The servers, each a URL; credentials in them never reach the logs. */
  servers: readonly string[];
  /** The client name the server shows for this connection. */
  name: string;
  /** Pause between reconnect attempts; connect attempts back off from it up to 16× (at most 5 s). */
  reconnectTimeWaitMs: number;
  /** How long a JetStream request (a publish) waits for the broker. */
  requestTimeoutMs: number;
  log: Logger;
}

export class NotConnectedError extends Error {
  constructor() {
    super("NATS is not connected");
    this.name = "NotConnectedError";
  }
}

export class NatsConnection {
  private state: ConnectionState = { kind: "connecting", failures: 0 };
  private readonly pause = new InterruptibleSleep();
  private readonly loop: Promise<void>;
  /** The servers as logs may show them: credentials hidden. */
  private readonly shownServers: string[];
  private readonly connectedListeners: Array<(state: ConnectedState) => void> = [];

  constructor(private readonly options: NatsConnectionOptions) {
    this.shownServers = options.servers.map(redactUrl);
    this.loop = this.keepConnected();
  }

  get current(): ConnectionState {
    return this.state;
  }

  get isClosed(): boolean {
    return this.state.kind === "closed";
  }

  /** Calls `listener` on each entry into "connected": the first connect and every reconnect. */
  onConnected(listener: (state: ConnectedState) => void): void {
    this.connectedListeners.push(listener);
  }

  /** The live connection; throws when there is none right now (or the bus is closed). */
  connected(): ConnectedState {
    const state = this.state;
    if (state.kind === "closed") throw new Error("event bus is closed");
    if (state.kind !== "connected") throw new NotConnectedError();
    return state;
  }

  /**
   * Closes the connection, after a round trip to the server when connected: close() drops what
   * is still in the outgoing buffer, and the last acks and naks must arrive (else those events
   * come again after the ack wait).
   */
  async close(): Promise<void> {
    const last = this.state;
    if (last.kind === "closed") return;
    this.setState({ kind: "closed" });
    this.pause.interrupt();
    if ((last.kind === "connected" || last.kind === "reconnecting") && !last.conn.isClosed()) {
      if (last.kind === "connected") {
        await withTimeout(last.conn.flush(), 2_000, () => new Error("NATS flush timed out")).catch(
          (error: unknown) => this.options.log.debug({ err: error }, "could not flush before closing"),
        );
      }
      await last.conn.close();
    }
    await this.loop;
  }

  private setState(next: ConnectionState): void {
    this.state = next;
    if (next.kind === "connected") for (const listener of this.connectedListeners) listener(next);
  }

  /** Connects, waits for the connection to close for good, backs off, and again — until closed. */
  private async keepConnected(): Promise<void> {
    while (this.state.kind === "connecting") {
      const failures = this.state.failures;
      try {
        const conn = await this.connectOnce();
        if (this.isClosed) {
          await conn.close();
          return;
        }
        this.setState({
          kind: "connected",
          conn,
          js: conn.jetstream({ timeout: this.options.requestTimeoutMs }),
        });
        this.options.log.info({ servers: this.shownServers }, "connected to NATS");
        this.watchStatus(conn).catch((error) =>
          this.options.log.error({ err: error }, "NATS status watcher failed"),
        );
        const error = await conn.closed();
        if (this.isClosed) return;
        this.setState({ kind: "waiting", failures: 0 });
        this.options.log.warn({ err: error }, "NATS connection closed; connecting again");
      } catch (error) {
        if (this.isClosed) return;
        this.setState({ kind: "waiting", failures: failures + 1 });
        if (logsFailure(failures + 1, 60)) {
          this.options.log.warn(
            { err: error, servers: this.shownServers, failures: failures + 1 },
            "NATS unreachable; retrying in the background",
          );
        }
      }
      await this.backOff();
    }
  }

  private connectOnce(): Promise<NatsClientConnection> {
    return connect({
      servers: [...this.options.servers],
      name: this.options.name,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: this.options.reconnectTimeWaitMs,
      reconnectJitter: 100,
      waitOnFirstConnect: false,
      timeout: 5_000,
      pingInterval: 5_000,
      maxPingOut: 3,
      // Without it every request (each JetStream publish waits for its ack through one) builds
      // three Errors with stack traces, in case it times out: an order cost the process ~1 500-2 000
      // µs of CPU with them, ~1 300 without (BENCHMARKS.md, "No async traces, statements built once
      // per shape"). Our own errors say what timed out.
      noAsyncTraces: true,
    });
  }

  /** In "waiting": sleeps out the backoff, then moves on to "connecting" (unless closed meanwhile). */
  private async backOff(): Promise<void> {
    const state = this.state;
    if (state.kind !== "waiting") return;
    const { reconnectTimeWaitMs } = this.options;
    await this.pause.sleep(
      backoffDelay(
        { initialMs: reconnectTimeWaitMs, maxMs: Math.min(5_000, reconnectTimeWaitMs * 16) },
        state.failures + 1,
      ),
    );
    if (this.state === state) this.setState({ kind: "connecting", failures: state.failures });
  }

  /** Follows nats.js's own reconnecting of `conn` while it is the current connection. */
  private async watchStatus(conn: NatsClientConnection): Promise<void> {
    for await (const status of conn.status()) {
      const state = this.state;
      if (!(state.kind === "connected" || state.kind === "reconnecting") || state.conn !== conn) return;
      if (status.type === Events.Disconnect && state.kind === "connected") {
        this.setState({ kind: "reconnecting", conn, js: state.js });
        this.options.log.warn({ server: status.data }, "disconnected from NATS; reconnecting");
      } else if (status.type === Events.Reconnect) {
        // The server may have lost its state (another node, a wiped store): a new "connected"
        // state makes everything cached for the old one be checked again.
        this.setState({ kind: "connected", conn, js: state.js });
        this.options.log.info({ server: status.data }, "reconnected to NATS");
      }
    }
  }
}
