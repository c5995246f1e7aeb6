/**
 * Calls for one item each (an order's reservation, a caller's order) to another process, where a
 * call costs far more CPU than the item's own work: a lone item goes at once on its own call, in
 * its own request's trace; the items asked for while a call is on its way go together in one batch
 * call, traced on its own and linked to each request (work-for-many.ts); each caller gets its own
 * item's answer or the error its own call would have given it. A peer that does not know the batch
 * method (unimplemented: a process of the previous version during a rolling upgrade) gets that
 * batch's items one call each, and the next batch tries again.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { inRequestsTrace, type RequestTrace, workForMany } from "../observability/work-for-many.js";
import type { ItemAnswer } from "../rpc/item-error.js";
import { CoalescingBatcher } from "./coalescing-batcher.js";

export interface LoneOrTogetherOptions<K, R> {
  /** One item's own call. */
  alone(item: K): Promise<R>;
  /** One call for several items: each item's answer (one left out fails its caller). */
  together(items: K[]): Promise<Map<K, ItemAnswer<R>>>;
  /** The span of a call made for several requests. */
  spanName: string;
  /** Most items per batch call. */
  maxBatch: number;
}

/** `call(item)`: the item's answer, sent alone or together with others as above. */
export function loneOrTogether<K extends { trace: RequestTrace | undefined }, R>(
  options: LoneOrTogetherOptions<K, R>,
): (item: K) => Promise<R> {
  const { spanName, maxBatch } = options;
  // The batcher's loop may send a lone item in another request's context: it goes in its own.
  const alone = async (item: K): Promise<ItemAnswer<R>> => ({
    response: await inRequestsTrace(item.trace, () => options.alone(item)),
  });
  const eachAlone = async (items: K[]) =>
    new Map(
      await Promise.all(
        items.map(async (item) => {
          const answer = await alone(item).catch((error: unknown) => ({ error: ConnectError.from(error) }));
          return [item, answer] as const;
        }),
      ),
    );
  const batches = new CoalescingBatcher<K, ItemAnswer<R>>(async (items) => {
    if (items.length === 1) {
      const [only] = items as [K];
      // A failure of a lone item's call is that item's, as the batcher passes it on.
      return new Map([[only, await alone(only)]]);
    }
    try {
      return await workForMany(
        spanName,
        items.map(({ trace }) => trace),
        () => options.together(items),
      );
    } catch (error) {
      if (ConnectError.from(error).code === Code.Unimplemented) return eachAlone(items);
      throw error;
    }
  }, maxBatch);
  return async (item) => {
    const answer = await batches.call(item);
    if ("error" in answer) throw answer.error;
    return answer.response;
  };
}
