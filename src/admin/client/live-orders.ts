/**
 * New orders and status changes as they happen: `GET /orders/events` (server-sent events) read
 * with fetch — EventSource cannot send the Authorization header, and a token must not go into a
 * URL. The stream ends now and then (the server bounds it, a stop ends it); it is reopened after
 * the delay the server asks for, and whoever listens refetches on reconnection, so nothing that
 * happened in between is missed on screen.
 */
import type { OrderEvent } from "./api-types.js";

export type LiveState = "connecting" | "live" | "refused";

export interface LiveOrdersListener {
  onEvent(event: OrderEvent): void;
  /** "live" after every (re)connection: a moment to refetch what may have been missed. */
  onState(state: LiveState): void;
}

const DEFAULT_RETRY_MS = 2_000;

/** Follows the stream (at `url`, this origin's by default) until the returned function is called. */
export function followLiveOrders(
  token: string,
  listener: LiveOrdersListener,
  url = "/orders/events",
): () => void {
  const stop = new AbortController();
  let retryMs = DEFAULT_RETRY_MS;
  const run = async () => {
    while (!stop.signal.aborted) {
      listener.onState("connecting");
      try {
        const response = await fetch(url, {
          headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
          signal: stop.signal,
        });
        if (response.status === 401 || response.status === 403) {
          await response.body?.cancel();
          listener.onState("refused");
          return;
        }
        if (response.ok && response.body !== null) {
          await readEvents(response.body, listener, (ms) => {
            retryMs = ms;
          });
        } else {
          await response.body?.cancel();
        }
      } catch {
        // Network gone or the server stopping: reconnect below.
      }
      if (stop.signal.aborted) return;
      listener.onState("connecting");
      await pause(retryMs, stop.signal);
    }
  };
  void run();
  return () => stop.abort();
}

/** Waits `ms`, or less when `signal` aborts first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

async function readEvents(
  body: ReadableStream<Uint8Array>,
  listener: LiveOrdersListener,
  setRetry: (ms: number) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let connected = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    if (!connected) {
      connected = true;
      listener.onState("live");
    }
    buffer = normalizeLineEnds(buffer + decoder.decode(value, { stream: true }));
    let end = buffer.indexOf("\n\n");
    while (end !== -1) {
      dispatch(buffer.slice(0, end), listener, setRetry);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf("\n\n");
    }
  }
}

/**
 * CRLF and CR line ends as LF (the SSE format allows all three); a CR at the very end stays, as it
 * may be the first half of a CRLF the next chunk completes.
 */
function normalizeLineEnds(text: string): string {
  const pending = text.endsWith("\r");
  const normalized = (pending ? text.slice(0, -1) : text).replace(/\r\n?/g, "\n");
  return pending ? `${normalized}\r` : normalized;
}

/** One SSE block: `event:`, `data:` and `retry:` lines; comments (`:`) are keep-alives. */
function dispatch(block: string, listener: LiveOrdersListener, setRetry: (ms: number) => void): void {
  let type = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) type = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    else if (line.startsWith("retry:")) {
      const ms = Number(line.slice(6).trim());
      if (Number.isInteger(ms) && ms > 0) setRetry(ms);
    }
  }
  if (type !== "order.created" && type !== "order.status_changed") return;
  try {
    listener.onEvent({ type, ...JSON.parse(data.join("\n")) } as OrderEvent);
  } catch {
    // A malformed event is skipped; the next refetch shows the truth.
  }
}
