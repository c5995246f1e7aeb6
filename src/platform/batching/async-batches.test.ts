import { describe, expect, it } from "vitest";
import { inBatches } from "./async-batches.js";

/** A source the test feeds by hand. */
function channel<T>() {
  const items: T[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  let failure: Error | undefined;
  const source: AsyncIterable<T> = {
    async *[Symbol.asyncIterator]() {
      while (true) {
        if (items.length > 0) {
          yield items.shift() as T;
          continue;
        }
        if (failure) throw failure;
        if (closed) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
  const poke = () => {
    wake?.();
    wake = undefined;
  };
  return {
    source,
    push: (...values: T[]) => {
      items.push(...values);
      poke();
    },
    close: () => {
      closed = true;
      poke();
    },
    fail: (error: Error) => {
      failure = error;
      poke();
    },
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("inBatches", () => {
  it("hands a lone item on at once and groups what arrives while a batch is being handled", async () => {
    const { source, push, close } = channel<number>();
    const batches = inBatches(source, 10);
    push(1);
    expect((await batches.next()).value).toEqual([1]);
    // Arrive while the caller is busy with [1]:
    push(2, 3, 4);
    await tick();
    expect((await batches.next()).value).toEqual([2, 3, 4]);
    close();
    expect((await batches.next()).done).toBe(true);
  });

  it("never yields more than maxBatch items, in arrival order", async () => {
    const { source, push, close } = channel<number>();
    push(...Array.from({ length: 25 }, (_, i) => i));
    close();
    const batches = inBatches(source, 10);
    expect((await batches.next()).value).toEqual([0]); // the first item goes on at once
    await tick(); // the rest is read meanwhile
    const rest: number[][] = [];
    for await (const batch of batches) rest.push(batch);
    expect(rest.map((batch) => batch.length)).toEqual([10, 10, 4]);
    expect(rest.flat()).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
  });

  it("yields what was read before the source failed, then throws its error", async () => {
    const { source, push, fail } = channel<number>();
    push(1, 2);
    fail(new Error("boom"));
    const batches = inBatches(source, 10);
    expect((await batches.next()).value).toEqual([1]);
    await tick();
    expect((await batches.next()).value).toEqual([2]);
    await expect(batches.next()).rejects.toThrow("boom");
  });
});
