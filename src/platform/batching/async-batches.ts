/**
 * Groups what an async source delivers into batches without waiting for any: each batch is what
 * arrived while the previous one was being handled (at least one item, at most `maxBatch`). A lone
 * item goes on at once; under load, one handler call serves many items. The source is read ahead
 * in the background, so the caller stops the source itself (the items it still had come as the
 * last batches).
 */
export async function* inBatches<T>(source: AsyncIterable<T>, maxBatch: number): AsyncGenerator<T[]> {
  if (!Number.isInteger(maxBatch) || maxBatch < 1)
    throw new RangeError("maxBatch must be a positive integer");
  const queue: T[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let arrived: (() => void) | undefined;
  const signal = () => {
    arrived?.();
    arrived = undefined;
  };
  void (async () => {
    try {
      for await (const item of source) {
        queue.push(item);
        signal();
      }
    } catch (error) {
      failure = { error };
    } finally {
      ended = true;
      signal();
    }
  })();
  while (true) {
    if (queue.length > 0) {
      yield queue.splice(0, maxBatch);
      continue;
    }
    if (ended) break;
    await new Promise<void>((resolve) => {
      arrived = resolve;
    });
  }
  if (failure) throw failure.error;
}
