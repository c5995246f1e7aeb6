/**
 * A transport whose calls carry a deadline even when the caller gave none: how the gateway bounds
 * every call it makes to a module (RPC_TIMEOUT_MS), in process or over the network, without each
 * route having to ask for it.
 */
import type { Transport } from "@connectrpc/connect";

export function withDefaultTimeout(transport: Transport, timeoutMs: number): Transport {
  return {
    unary: (method, signal, timeout, header, input, contextValues) =>
      transport.unary(method, signal, timeout ?? timeoutMs, header, input, contextValues),
    stream: (method, signal, timeout, header, input, contextValues) =>
      transport.stream(method, signal, timeout ?? timeoutMs, header, input, contextValues),
  };
}
