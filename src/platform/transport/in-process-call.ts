/**
 * Whether a handler's call came from this process. Only the in-process transport sets it, on the
 * handler's side, so no caller over the network can claim it. A caller in this process shares the
 * process's database (one server, one write-ahead log): the one use is a write whose durability
 * that caller's own next commit provides (docs/guarantees.md, "A reservation's commit").
 */
import { type ContextValues, createContextKey } from "@connectrpc/connect";

export const IN_PROCESS_CALL = createContextKey(false, { description: "called from this process" });

export function calledInProcess(context: { values: ContextValues }): boolean {
  return context.values.get(IN_PROCESS_CALL);
}
