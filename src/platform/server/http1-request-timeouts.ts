/**
 * The header and request timeouts of HTTP/1.1 connections, checked by one sweep a second over the
 * parser node:http attaches to each connection (node arms its own only when its server listens
 * itself, and ours is handed its connections): incomplete headers after `headersTimeoutMs` are
 * answered 408 and closed, a body still arriving after `requestTimeoutMs` is closed. A request
 * costs nothing here. docs/security.md, "Connections".
 */
import type net from "node:net";

/** What the sweep reads of node:http's parser (its `socket.parser`; null once freed). */
interface MessageParser {
  duration(): number;
  headersCompleted(): boolean;
}

type ParsedSocket = net.Socket & { parser?: MessageParser | null };

export class Http1RequestTimeouts {
  private readonly connections = new Set<ParsedSocket>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly limits: { headersTimeoutMs: number; requestTimeoutMs: number },
    /** Answers 408 (when nothing of a response was sent) and closes the connection. */
    private readonly expire: (socket: net.Socket, what: "headers" | "request") => void,
    sweepMs = 1_000,
  ) {
    this.timer = setInterval(() => this.sweep(), sweepMs);
    this.timer.unref();
  }

  /** A connection just handed to node:http. */
  track(socket: net.Socket): void {
    this.connections.add(socket);
    socket.once("close", () => this.connections.delete(socket));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Looks at every connection once; the timer calls it every `sweepMs` (tests call it directly). */
  sweep(): void {
    for (const socket of this.connections) {
      const parser = socket.parser;
      // No parser: not yet attached, or freed (closed or upgraded); "close" forgets the latter.
      if (!parser) continue;
      const arrivingMs = parser.duration();
      if (arrivingMs === 0) continue;
      if (!parser.headersCompleted()) {
        if (arrivingMs >= this.limits.headersTimeoutMs) this.expire(socket, "headers");
      } else if (arrivingMs >= this.limits.requestTimeoutMs) {
        this.expire(socket, "request");
      }
    }
  }
}
