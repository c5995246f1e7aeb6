/**
 * The header and request timeouts of HTTP/1.1 connections, checked by one sweep a second.
 *
 * node:http has both (headersTimeout, requestTimeout) but arms them only when its server listens
 * itself, and ours is handed its connections (node starts its tracking from the "listening" event,
 * which ours never has). The parser node:http attaches to every connection keeps what those
 * timeouts need anyway: how long the message being parsed has been arriving (`duration()`, 0
 * between messages) and whether its headers are complete. One sweep a second reads both for each
 * connection, so a request costs nothing here (a CPU profile of the cached product read showed no
 * difference between this and node's own tracking started by hand; BENCHMARKS.md, "Limits on the
 * hot paths"):
 * - a message whose headers are incomplete after `headersTimeoutMs` (however slowly it trickles)
 *   is answered 408 and its connection closed;
 * - a message whose body is still arriving `requestTimeoutMs` after it began: the connection is
 *   closed.
 * A connection that has sent nothing at all is the one-port server's own (it belongs to no HTTP
 * server until its first bytes); an idle keep-alive connection is node:http's keepAliveTimeout.
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
