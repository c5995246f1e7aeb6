/**
 * CachePeers over Redis pub/sub: one channel per namespace carries every process's forgets and
 * pings, in one order that Redis gives every subscriber. A process answers from its L1 only under
 * a lease: the send time of its own last ping that came back, plus `leaseMs` — its ping coming
 * back proves every forget published before it has reached this process. A write's forget waits
 * for the acknowledgement of every process seen pinging within the lease, or, at the longest,
 * for the lease: by then no process that missed the forget can still answer from L1.
 * The argument and its limits: docs/cache-protocol.md, "(e) L1 under a freshness lease".
 */

import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { RedisClientType } from "@keyv/redis";
import type { Logger } from "../logger.js";
import { Counter, perRegistry, type Registry } from "../metrics.js";
import { errorMessage, rateLimitedWarn } from "../rate-limited-log.js";
import { type CachePeers, type ForgetListener, ForgetListeners } from "./cache-peers.js";
import { createCacheRedisClient } from "./redis-client.js";

export interface RedisCachePeersOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Deployment namespace: the channels are `${namespace}:cache-peers…`. */
  namespace: string;
  logger: Logger;
  /** How long a ping that came back lets L1 answer, and the longest a forget waits (500 ms). */
  leaseMs?: number;
  /** How often this process pings (a fifth of the lease). */
  pingEveryMs?: number;
  metrics?: Registry;
}

export interface RedisCachePeers extends CachePeers {
  /** This process's identity on the channel. */
  readonly id: string;
  /** Stops pinging, tells the others this process is gone, and disconnects. */
  close(): Promise<void>;
}

export const DEFAULT_LEASE_MS = 500;
/** How long a PUBLISH may take before it counts as failed. */
const OP_TIMEOUT_MS = 200;
/** How soon a forget Redis did not take is published again. */
const RETRY_MS = 250;

/** What goes over the shared channel. */
type ChannelMessage =
  | { p: string; i: number } // ping from process p
  | { w: string; i: number; f: Record<string, string[]> } // forget i from writer w: keys by cache
  | { b: string }; // process b is leaving

/** A forget published by this process, waiting for the others. */
interface PendingForget {
  /** Peers that acknowledged it (possibly before this process saw its own message). */
  acked: Set<string>;
  /** Set when this process saw its own message: the peers it still waits for. */
  waitingFor: Set<string> | undefined;
  /** performance.now() before which it does not settle on acknowledgements alone. */
  notBefore: number;
  timer: NodeJS.Timeout | undefined;
  /** Armed when only `notBefore` is left to wait for. */
  notBeforeTimer: NodeJS.Timeout | undefined;
  settle: () => void;
}

const instruments = perRegistry((registry) => ({
  timeouts: new Counter({
    name: "cache_peer_forget_timeouts_total",
    help: "Cache forgets that waited the whole lease because a process did not acknowledge them",
    registers: [registry],
  }),
}));

export function createRedisCachePeers(options: RedisCachePeersOptions): RedisCachePeers {
  return new RedisPubSubPeers(options);
}

class RedisPubSubPeers implements RedisCachePeers {
  readonly id = randomUUID();
  readonly #leaseMs: number;
  readonly #logger: Logger;
  readonly #warn: (fields: Record<string, unknown>, message: string) => void;
  readonly #timeouts: Counter | undefined;
  readonly #channel: string;
  readonly #ackPrefix: string;
  readonly #publisher: RedisClientType;
  readonly #subscriber: RedisClientType;
  readonly #pingTimer: NodeJS.Timeout;

  /** performance.now() until which L1 may answer. */
  #leaseUntil = 0;
  /** Set when this process may have missed messages: its listeners drop everything before L1 answers again. */
  #lapsed = true;
  /** From when the peers seen pinging are all the peers that can hold a lease (see #waitFor). */
  #trustedFrom = Number.POSITIVE_INFINITY;
  /** This process's pings in flight: sequence number → send time. */
  readonly #pings = new Map<number, number>();
  #pingSeq = 0;
  /** Every other process seen pinging, and when it was last seen. */
  readonly #seen = new Map<string, number>();
  readonly #listeners = new ForgetListeners();

  /** Keys to forget, by cache, gathered for the next message, and who waits for it. */
  #queued = new Map<string, Set<string>>();
  #queuedWaiters: (() => void)[] = [];
  #forgetSeq = 0;
  readonly #pending = new Map<number, PendingForget>();
  /** Acknowledgements to send, by writer. */
  #acks = new Map<string, number[]>();
  #closed = false;
  /** Whether this process asked for its subscriptions (node-redis renews them on a reconnect). */
  #subscribed = false;

  constructor(options: RedisCachePeersOptions) {
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#logger = options.logger;
    this.#warn = rateLimitedWarn(options.logger, 30_000);
    this.#timeouts = options.metrics && instruments(options.metrics).timeouts;
    this.#channel = `${options.namespace}:cache-peers`;
    this.#ackPrefix = `${options.namespace}:cache-peers:ack:`;
    const client = { url: options.url, opTimeoutMs: OP_TIMEOUT_MS, maxReconnectDelayMs: 1000 };
    this.#publisher = createCacheRedisClient(client);
    this.#subscriber = createCacheRedisClient(client);
    for (const connection of [this.#publisher, this.#subscriber]) {
      connection.on("error", (error: unknown) => {
        this.#warn({ err: errorMessage(error) }, "redis cache peers connection error");
      });
      connection.connect().catch((error: unknown) => {
        if (!this.#closed) this.#warn({ err: errorMessage(error) }, "redis cache peers connect failed");
      });
    }
    // Whatever was published while the subscription was down is lost to this process.
    const lost = () => this.#lose();
    this.#subscriber.on("end", lost);
    this.#subscriber.on("reconnecting", lost);
    this.#subscriber.on("error", lost);
    this.#subscriber.on("ready", () => {
      // node-redis subscribes again by itself on a reconnect; the first time, we do.
      if (!this.#subscribed) this.#subscribe();
    });
    this.#pingTimer = setInterval(() => this.#ping(), options.pingEveryMs ?? this.#leaseMs / 5);
    this.#pingTimer.unref();
  }

  #subscribe(): void {
    this.#subscribed = true;
    Promise.all([
      this.#subscriber.subscribe(this.#channel, (message) => this.#onChannel(message)),
      this.#subscriber.subscribe(`${this.#ackPrefix}${this.id}`, (message) => this.#onAck(message)),
    ]).then(
      () => this.#ping(),
      (error: unknown) => {
        this.#subscribed = false;
        this.#warn({ err: errorMessage(error) }, "redis cache peers could not subscribe");
      },
    );
  }

  readonly spansProcesses = true;

  inSync(): boolean {
    return performance.now() < this.#leaseUntil;
  }

  forgetHere(name: string, keys: readonly string[] | undefined): void {
    this.#listeners.tell(name, keys);
  }

  listen(name: string, listener: ForgetListener): () => void {
    return this.#listeners.add(name, listener);
  }

  forget(name: string, keys: readonly string[]): Promise<void> {
    if (this.#closed || keys.length === 0) return Promise.resolve();
    // Every forget asked for in this turn of the event loop goes out as one message.
    if (this.#queuedWaiters.length === 0) setImmediate(() => this.#publishQueued());
    let queued = this.#queued.get(name);
    if (queued === undefined) {
      queued = new Set();
      this.#queued.set(name, queued);
    }
    for (const key of keys) queued.add(key);
    return new Promise((resolve) => this.#queuedWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    this.#leaseUntil = 0;
    for (const pending of [...this.#pending.values()]) pending.settle();
    for (const resolve of this.#queuedWaiters.splice(0)) resolve();
    // The others stop waiting for this process's acknowledgements at once.
    await this.#publish(this.#channel, JSON.stringify({ b: this.id } satisfies ChannelMessage)).catch(
      () => {},
    );
    for (const connection of [this.#subscriber, this.#publisher]) if (connection.isOpen) connection.destroy();
  }

  /** PUBLISH, failed when not connected or not answered within OP_TIMEOUT_MS (a hung Redis). */
  #publish(channel: string, message: string): Promise<number> {
    if (!this.#publisher.isReady) return Promise.reject(new Error("redis cache peers not connected"));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("redis cache peers: no answer to PUBLISH")), OP_TIMEOUT_MS);
    });
    return Promise.race([this.#publisher.publish(channel, message), timeout]).finally(() =>
      clearTimeout(timer),
    );
  }

  #ping(): void {
    if (this.#closed) return;
    const sentAt = performance.now();
    const seq = ++this.#pingSeq;
    this.#pings.set(seq, sentAt);
    // Pings that never came back: forget them once they could no longer extend the lease.
    for (const [old, at] of this.#pings) {
      if (sentAt - at <= this.#leaseMs) break;
      this.#pings.delete(old);
    }
    this.#publish(this.#channel, JSON.stringify({ p: this.id, i: seq } satisfies ChannelMessage)).catch(
      () => {
        // No renewal: the lease runs out, and L1 stops answering.
      },
    );
  }

  /** The subscription is (or may be) broken: stop answering from L1 until a ping comes back. */
  #lose(): void {
    this.#leaseUntil = 0;
    this.#lapsed = true;
    this.#trustedFrom = Number.POSITIVE_INFINITY;
  }

  #publishQueued(): void {
    const forgets: Record<string, string[]> = {};
    for (const [name, keys] of this.#queued) forgets[name] = [...keys];
    this.#queued = new Map();
    const waiters = this.#queuedWaiters;
    this.#queuedWaiters = [];
    const seq = ++this.#forgetSeq;
    const pending: PendingForget = {
      acked: new Set(),
      waitingFor: undefined,
      notBefore: 0,
      timer: undefined,
      notBeforeTimer: undefined,
      settle: () => {
        if (this.#pending.get(seq) !== pending) return;
        this.#pending.delete(seq);
        clearTimeout(pending.timer);
        clearTimeout(pending.notBeforeTimer);
        for (const resolve of waiters) resolve();
      },
    };
    this.#pending.set(seq, pending);
    const message: ChannelMessage = { w: this.id, i: seq, f: forgets };
    this.#publish(this.#channel, JSON.stringify(message)).then(
      () => this.#armTimeout(pending),
      (error: unknown) => {
        // The others are not told: those whose Redis connection is down too lose their lease
        // within leaseMs; for the rest, the keys go out again until Redis takes them.
        this.#warn({ err: errorMessage(error) }, "redis cache peers could not publish a forget");
        this.#armTimeout(pending);
        setTimeout(() => {
          for (const [name, keys] of Object.entries(forgets)) void this.forget(name, keys);
        }, RETRY_MS).unref();
      },
    );
  }

  /**
   * The longest a forget waits: a lease from now. Armed once Redis has ordered the message (its
   * PUBLISH answered, or this process received it back): every ping that could have renewed a
   * lease without the forget was sent before, so every such lease ends within leaseMs from now.
   */
  #armTimeout(pending: PendingForget): void {
    if (pending.timer !== undefined || this.#closed) return;
    pending.timer = setTimeout(() => {
      if (pending.waitingFor === undefined || pending.waitingFor.size > 0) this.#timeouts?.inc();
      pending.settle();
    }, this.#leaseMs);
  }

  #onChannel(text: string): void {
    let message: ChannelMessage;
    try {
      message = JSON.parse(text) as ChannelMessage;
    } catch {
      return;
    }
    const now = performance.now();
    if ("p" in message) {
      if (message.p === this.id) this.#renew(message.i, now);
      else this.#seen.set(message.p, now);
    } else if ("w" in message) {
      for (const [name, keys] of Object.entries(message.f)) this.#listeners.tell(name, keys);
      if (message.w === this.id) this.#waitFor(message.i, now);
      else this.#acknowledge(message.w, message.i);
    } else if ("b" in message) {
      this.#seen.delete(message.b);
      for (const pending of this.#pending.values()) this.#acked(pending, message.b);
    }
  }

  #renew(seq: number, now: number): void {
    const sentAt = this.#pings.get(seq);
    if (sentAt === undefined) return;
    for (const old of this.#pings.keys()) {
      if (old > seq) break;
      this.#pings.delete(old);
    }
    if (this.#lapsed || now >= this.#leaseUntil) {
      // Forgets may have been missed since the lease ran out: nothing held from before is trusted.
      this.#lapsed = false;
      this.#listeners.tellAllToDropEverything();
    }
    // Pings seen from now on include every process's that could hold a lease a lease from now.
    if (this.#trustedFrom === Number.POSITIVE_INFINITY) this.#trustedFrom = now + this.#leaseMs;
    this.#leaseUntil = Math.max(this.#leaseUntil, sentAt + this.#leaseMs);
  }

  /**
   * This process received its own forget back: everything Redis ordered before it has been seen
   * here too, pings included. A process not seen pinging within the lease cannot hold a lease
   * from a ping ordered before the forget (that ping would have been seen), so only those seen
   * are waited for. While this process's own subscription is younger than a lease, a process may
   * hold a lease from a ping ordered before it, unseen here: such a lease ends by #trustedFrom,
   * so the forget also waits until then.
   */
  #waitFor(seq: number, now: number): void {
    const pending = this.#pending.get(seq);
    if (pending === undefined) return;
    this.#armTimeout(pending);
    const waitingFor = new Set<string>();
    for (const [peer, seenAt] of this.#seen) {
      if (now - seenAt > this.#leaseMs) this.#seen.delete(peer);
      else if (!pending.acked.has(peer)) waitingFor.add(peer);
    }
    pending.waitingFor = waitingFor;
    pending.notBefore = this.#trustedFrom;
    this.#settleIfDone(pending);
  }

  /** Settles once every peer waited for has acknowledged and `notBefore` has passed. */
  #settleIfDone(pending: PendingForget): void {
    if (pending.waitingFor === undefined || pending.waitingFor.size > 0) return;
    const wait = pending.notBefore - performance.now();
    if (wait <= 0) pending.settle();
    // An infinite notBefore (no lease since a lapse) leaves it to the timeout.
    else if (Number.isFinite(wait) && pending.notBeforeTimer === undefined)
      pending.notBeforeTimer = setTimeout(pending.settle, wait);
  }

  #acknowledge(writer: string, seq: number): void {
    let acks = this.#acks.get(writer);
    if (acks === undefined) {
      acks = [];
      this.#acks.set(writer, acks);
      if (this.#acks.size === 1) setImmediate(() => this.#sendAcks());
    }
    acks.push(seq);
  }

  #sendAcks(): void {
    const acks = this.#acks;
    this.#acks = new Map();
    for (const [writer, seqs] of acks) {
      this.#publish(`${this.#ackPrefix}${writer}`, `${this.id} ${seqs.join(",")}`).catch(() => {
        // The writer stops waiting when its timeout ends.
      });
    }
  }

  #onAck(text: string): void {
    const space = text.indexOf(" ");
    if (space <= 0) return;
    const peer = text.slice(0, space);
    for (const seq of text.slice(space + 1).split(",")) {
      const pending = this.#pending.get(Number(seq));
      if (pending !== undefined) this.#acked(pending, peer);
    }
  }

  #acked(pending: PendingForget, peer: string): void {
    pending.acked.add(peer);
    if (pending.waitingFor === undefined) return;
    pending.waitingFor.delete(peer);
    this.#settleIfDone(pending);
  }
}
