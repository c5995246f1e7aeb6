/**
 * What a connection may cost the server before it is closed: the limits of docs/api.md's "Limits"
 * section for connections, and how an early answer to an unread body ends. The defaults are the
 * contract; tests pass shorter ones.
 */
export interface ConnectionLimits {
  /**
   * A connection must send complete request headers within this time, counted from its first
   * byte for HTTP/1.1 (Node's headersTimeout) and from the connection for the first bytes
   * themselves and for an HTTP/2 connection's first stream. Trickling a header line now and then
   * does not extend it.
   */
  headersTimeoutMs: number;
  /** The whole of one HTTP/1.1 request, body included, must arrive within this time. */
  requestTimeoutMs: number;
  /** An idle HTTP/1.1 keep-alive connection, or an HTTP/2 one with no open stream, is closed after this. */
  idleTimeoutMs: number;
  /** Concurrent streams one HTTP/2 connection may open (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /**
   * After answering a request whose body was not read (too large, or refused before it was
   * needed), the server discards at most this many more bytes and waits at most
   * `lingerMs` before closing, so the client reads the answer instead of a reset.
   */
  lingerBytes: number;
  lingerMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 65_000,
  maxConcurrentStreams: 100,
  lingerBytes: 256 * 1024,
  lingerMs: 1_000,
};
