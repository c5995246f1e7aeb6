/**
 * Reading a server-sent event stream (GET /orders/events) from a test the way the admin UI does:
 * fetch with the Authorization header, the body read as it arrives and cut into events by the
 * WHATWG rules (fields `event`, `data`, `retry`; lines starting with ":" are comments).
 */

/** One block of the stream: an event, or a comment on its own. */
export interface StreamBlock {
  /** `event:` (undefined for a block without one, a comment for instance). */
  event?: string;
  /** The `data:` lines joined with "\n". */
  data?: string;
  retry?: number;
  comments: string[];
  /** When the block was read, by the test's clock (ms). */
  at: number;
}

export interface EventStreamClient {
  response: Response;
  /** The next block that `matches`, waiting at most `timeoutMs`; earlier blocks are skipped. */
  next(matches?: (block: StreamBlock) => boolean, timeoutMs?: number): Promise<StreamBlock>;
  /** Every block read so far. */
  readonly blocks: readonly StreamBlock[];
  /** Resolves when the server ends the stream (or the client closed it). */
  readonly ended: Promise<void>;
  /** Closes the connection, as a browser tab that goes away. */
  close(): void;
}

/** The response of GET `path` when it is not an event stream (a refusal), read in full. */
export interface Refusal {
  response: Response;
  text: string;
}

export async function openEventStream(
  baseUrl: string,
  path: string,
  token: string | undefined,
): Promise<EventStreamClient | Refusal> {
  const abort = new AbortController();
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(new URL(path, baseUrl), { headers, signal: abort.signal });
  if (!(response.headers.get("content-type") ?? "").startsWith("text/event-stream") || !response.body) {
    return { response, text: await response.text() };
  }
  const blocks: StreamBlock[] = [];
  const waiters = new Set<() => void>();
  let done = false;
  const ended = (async () => {
    const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const chunk = await reader?.read();
        if (chunk === undefined || chunk.done) break;
        buffer += chunk.value;
        for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
          blocks.push(parseBlock(buffer.slice(0, end)));
          buffer = buffer.slice(end + 2);
          for (const wake of waiters) wake();
        }
      }
    } catch {
      // closed by the client
    } finally {
      done = true;
      for (const wake of waiters) wake();
    }
  })();

  let read = 0;
  return {
    response,
    blocks,
    ended,
    close: () => abort.abort(),
    async next(matches = () => true, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (read < blocks.length) {
          const block = blocks[read++] as StreamBlock;
          if (matches(block)) return block;
        }
        if (done) throw new Error(`the stream ended; read: ${JSON.stringify(blocks)}`);
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`no matching block within ${timeoutMs} ms; read: ${JSON.stringify(blocks)}`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            waiters.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, left);
          waiters.add(wake);
        });
      }
    },
  };
}

export function isEventStream(opened: EventStreamClient | Refusal): opened is EventStreamClient {
  return "next" in opened;
}

function parseBlock(text: string): StreamBlock {
  const block: StreamBlock = { comments: [], at: Date.now() };
  const data: string[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith(":")) {
      block.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") block.event = value;
    else if (field === "data") data.push(value);
    else if (field === "retry") block.retry = Number(value);
  }
  if (data.length > 0) block.data = data.join("\n");
  return block;
}
