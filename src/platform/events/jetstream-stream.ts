/**
 * The one stream of a deployment, `<namespace>_events` over `<namespace>.>`: file storage, limits
 * retention, and a duplicate window in which the broker drops a second publish of an event id
 * (what makes the relay's repeats harmless). Created or widened once per connection — again after
 * every reconnect, since the server may have lost it — and by whichever process gets there first.
 */
import {
  DiscardPolicy,
  type JetStreamManager,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamInfo,
} from "nats";
import type { Logger } from "../logger.js";
import { apiErrorCode, ERR_STREAM_NAME_IN_USE, ERR_STREAM_NOT_FOUND } from "./jetstream-names.js";
import type { ConnectedState, NatsConnection } from "./nats-connection.js";

export interface JetStreamStreamOptions {
  name: string;
  /** The subjects it stores, e.g. `shop.>`. */
  subject: string;
  duplicateWindowMs: number;
  /** How long it keeps events; 0 for good. */
  maxAgeMs: number;
  log: Logger;
}

export class JetStreamStream {
  readonly name: string;
  /** The JetStream manager of the current connection, made once per connection. */
  readonly manager: () => Promise<JetStreamManager>;
  /** Resolves once the stream exists as configured on the current connection. */
  readonly ensure: () => Promise<void>;

  constructor(
    connection: NatsConnection,
    private readonly options: JetStreamStreamOptions,
  ) {
    this.name = options.name;
    this.manager = oncePerConnection(connection, (state) => state.conn.jetstreamManager());
    this.ensure = oncePerConnection(connection, async () => this.createOrUpdate(await this.manager()));
    // Checked on each connect without anyone waiting for it: a failure is retried on next use.
    connection.onConnected(() => {
      this.ensure().catch((error) => this.options.log.debug({ err: error }, "stream not ready yet"));
    });
  }

  private async createOrUpdate(m: JetStreamManager): Promise<void> {
    const { name, subject, log } = this.options;
    let info: StreamInfo;
    try {
      info = await m.streams.info(name);
    } catch (error) {
      if (apiErrorCode(error) !== ERR_STREAM_NOT_FOUND) throw error;
      try {
        await m.streams.add({
          name,
          subjects: [subject],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          discard: DiscardPolicy.Old,
          duplicate_window: nanos(this.options.duplicateWindowMs),
          max_age: nanos(this.options.maxAgeMs),
        });
        log.info({ stream: name, subject }, "created JetStream stream");
        return;
      } catch (addError) {
        // Another process created it first (with a different config): fall through to update.
        if (apiErrorCode(addError) !== ERR_STREAM_NAME_IN_USE) throw addError;
        info = await m.streams.info(name);
      }
    }
    await this.widen(m, info);
  }

  /** Adds the subject and lengthens the duplicate window of a stream that lacks them; never narrows. */
  private async widen(m: JetStreamManager, info: StreamInfo): Promise<void> {
    const config = info.config;
    const { subject } = this.options;
    const subjects = config.subjects ?? [];
    const wantedWindow = nanos(this.options.duplicateWindowMs);
    if (subjects.includes(subject) && config.duplicate_window >= wantedWindow) return;
    await m.streams.update(this.name, {
      ...config,
      subjects: subjects.includes(subject) ? subjects : [...subjects, subject],
      duplicate_window: Math.max(config.duplicate_window, wantedWindow),
      max_age: config.max_age === 0 ? 0 : Math.max(config.max_age, wantedWindow),
    });
    this.options.log.info({ stream: this.name }, "updated JetStream stream");
  }
}

/**
 * `make` run at most once per connected state (a reconnect is a new one), its promise shared by
 * every caller meanwhile; a failure is forgotten so that the next call tries again. Rejects at
 * once when not connected.
 */
function oncePerConnection<T>(
  connection: NatsConnection,
  make: (state: ConnectedState) => Promise<T>,
): () => Promise<T> {
  let memo: { state: ConnectedState; promise: Promise<T> } | undefined;
  return () => {
    let state: ConnectedState;
    try {
      state = connection.connected();
    } catch (error) {
      return Promise.reject(error);
    }
    if (memo?.state !== state) {
      const attempt = { state, promise: make(state) };
      memo = attempt;
      attempt.promise.catch(() => {
        if (memo === attempt) memo = undefined;
      });
    }
    return memo.promise;
  };
}
