/**
 * A server-sent event stream (text/event-stream, the WHATWG HTML "Server-sent events" format) as a
 * fetch Response: `retry` and an `event: ready` at once, so the client knows it is connected and
 * how soon to reconnect, then one event per item of `source`, and a comment line at a fixed
 * interval whatever else is sent, so proxies keep the connection and a client can tell a quiet
 * stream from a dead one.
 *
 * Written by hand rather than with hono's streamSSE, which adds `Connection` and
 * `Transfer-Encoding` headers (not allowed on HTTP/2, which the one port also serves) and writes an
 * error's message into the stream. The body is pulled: nothing is read from `source` until the
 * client has taken what was sent before, so a slow client holds back its source (whose own bound
 * then applies) instead of growing a buffer here.
 */

export interface ServerSentEvent {
  readonly event: string;
  /** Sent as JSON, on one `data:` line. */
  readonly data: object;
}

export interface EventStreamOptions {
  /** Interval of the keep-alive comments. */
  keepAliveMs: number;
  /** How long a client waits before it reconnects (the `retry` field). */
  retryMs: number;
  /**
   * Called once when the stream is over: the source ended (`error` when it failed) or the client
   * went away. What `source` waits on must be stopped here: its pending read is not interrupted.
   */
  onEnd(error?: unknown): void;
}

const encoder = new TextEncoder();
const KEEP_ALIVE = encoder.encode(": keep-alive\n\n");
const TICK = Symbol("keep-alive");

export function eventStreamResponse(
  source: AsyncIterator<ServerSentEvent>,
  options: EventStreamOptions,
): Response {
  let over = false;
  const end = (error?: unknown) => {
    if (over) return;
    over = true;
    options.onEnd(error);
  };
  let pending: Promise<IteratorResult<ServerSentEvent>> | undefined;
  let nextKeepAliveAt = Date.now() + options.keepAliveMs;

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`retry: ${options.retryMs}\nevent: ready\ndata: {}\n\n`));
    },
    async pull(controller) {
      pending ??= source.next();
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<typeof TICK>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, nextKeepAliveAt - Date.now()), TICK);
      });
      try {
        const next = await Promise.race([pending, tick]);
        if (over) return;
        if (next === TICK) {
          nextKeepAliveAt += options.keepAliveMs;
          controller.enqueue(KEEP_ALIVE);
          return;
        }
        pending = undefined;
        if (next.done) {
          controller.close();
          end();
          return;
        }
        const { event, data } = next.value;
        controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      } catch (error) {
        // The source failed: the stream ends as cleanly as one whose source finished.
        if (over) return;
        controller.close();
        end(error);
      } finally {
        clearTimeout(timer);
      }
    },
    cancel() {
      end();
    },
  });

  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      // nginx (and proxies that follow it) would buffer the stream, delaying every event.
      "x-accel-buffering": "no",
    },
  });
}
