/**
 * Coalesces concurrent single-item calls into batch calls, the way a database groups commits: the
 * first call is sent at once (a lone caller waits for nothing extra); calls made while a batch is
 * in flight queue up and go together as the next batch when it returns. Under load, one statement
 * then serves many requests; without load, nothing is delayed.
 */
export type SendBatch<K, V> = (keys: K[]) => Promise<Map<K, V>>;

interface Waiting<K, V> {
  key: K;
  resolve: (value: V) => void;
  reject: (error: unknown) => void;
}

export class CoalescingBatcher<K, V> {
  private queue: Waiting<K, V>[] = [];
  private sending = false;

  /**
   * @param sendBatch answers every key of a batch; a key missing from its map rejects that
   *   caller. A rejected batch rejects each of its callers with the same error.
   * @param maxBatch most keys per batch; more wait for the next one.
   */
  constructor(
    private readonly sendBatch: SendBatch<K, V>,
    private readonly maxBatch = 500,
  ) {}

  call(key: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.queue.push({ key, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const answers = await this.sendBatch(batch.map((waiting) => waiting.key));
          for (const waiting of batch) {
            if (answers.has(waiting.key)) waiting.resolve(answers.get(waiting.key) as V);
            else waiting.reject(new Error(`the batch returned no answer for ${String(waiting.key)}`));
          }
        } catch (error) {
          for (const waiting of batch) waiting.reject(error);
        }
      }
    } finally {
      this.sending = false;
    }
  }
}
