/**
 * How long a server stream (WatchOrders) may stay open: its deadline, whatever its caller asks,
 * where RPC_TIMEOUT_MS bounds every other call. A watcher reconnects after it, so a stream never
 * outlives a token's expiry or a deployment by more than this.
 */
export const LONGEST_STREAM_MS = 5 * 60_000;
