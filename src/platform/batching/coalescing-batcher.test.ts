import { describe, expect, it } from "vitest";
import { CoalescingBatcher } from "./coalescing-batcher.js";

/** A batch sender that records its batches and answers when told to. */
function controlledSender() {
  const batches: string[][] = [];
  const pending: (() => void)[] = [];
  const send = (keys: string[]) => {
    batches.push(keys);
    return new Promise<Map<string, string>>((resolve) => {
      pending.push(() => resolve(new Map(keys.map((key) => [key, key.toUpperCase()]))));
    });
  };
  const answerNext = async () => {
    pending.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { batches, send, answerNext };
}

describe("CoalescingBatcher", () => {
  it("sends a lone call at once, and the calls made meanwhile together as the next batch", async () => {
    const sender = controlledSender();
    const batcher = new CoalescingBatcher(sender.send);
    const first = batcher.call("a");
    expect(sender.batches).toEqual([["a"]]);
    const rest = ["b", "c", "d"].map((key) => batcher.call(key));
    expect(sender.batches).toHaveLength(1);
    await sender.answerNext();
    expect(await first).toBe("A");
    expect(sender.batches).toEqual([["a"], ["b", "c", "d"]]);
    await sender.answerNext();
    expect(await Promise.all(rest)).toEqual(["B", "C", "D"]);
    // Idle again: the next call goes out on its own.
    const later = batcher.call("e");
    expect(sender.batches.at(-1)).toEqual(["e"]);
    await sender.answerNext();
    expect(await later).toBe("E");
  });

  it("splits a queue longer than the largest batch", async () => {
    const sender = controlledSender();
    const batcher = new CoalescingBatcher(sender.send, 2);
    const calls = ["a", "b", "c", "d", "e"].map((key) => batcher.call(key));
    for (let index = 0; index < 4; index++) await sender.answerNext();
    expect(await Promise.all(calls)).toEqual(["A", "B", "C", "D", "E"]);
    expect(sender.batches).toEqual([["a"], ["b", "c"], ["d", "e"]]);
  });

  it("rejects every caller of a failed batch, and keeps serving the next ones", async () => {
    let fail = true;
    const batcher = new CoalescingBatcher<string, number>(async (keys) => {
      if (fail) throw new Error("down");
      return new Map(keys.map((key) => [key, key.length]));
    });
    const failed = await Promise.allSettled([batcher.call("x"), batcher.call("yy")]);
    expect(failed.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    expect(await batcher.call("zzz")).toBe(3);
  });

  it("rejects a caller whose key the batch did not answer", async () => {
    const batcher = new CoalescingBatcher<string, number>(async () => new Map());
    await expect(batcher.call("lost")).rejects.toThrow(/no answer for lost/);
  });
});
