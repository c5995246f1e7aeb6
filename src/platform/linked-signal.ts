/**
 * An AbortSignal that aborts when any of `sources` does, with a `release` that unhooks it from
 * them. `AbortSignal.any` does the first half, but on Node 20 a signal it makes stays attached to
 * its sources for as long as they live: linked to the process's long-lived `stopping` signal once
 * per request, that is ~100 bytes kept per request, anonymous ones included. Release when the work
 * the signal guards is over.
 */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Detaches from the sources (idempotent); the signal keeps whatever state it has. */
  release(): void;
}

export function linkedSignal(sources: readonly AbortSignal[]): LinkedSignal {
  const controller = new AbortController();
  const already = sources.find((source) => source.aborted);
  if (already !== undefined) {
    controller.abort(already.reason);
    return { signal: controller.signal, release: () => {} };
  }
  const onAbort = (event: Event) => {
    release();
    controller.abort((event.target as AbortSignal).reason);
  };
  const release = () => {
    for (const source of sources) source.removeEventListener("abort", onAbort);
  };
  for (const source of sources) source.addEventListener("abort", onAbort);
  return { signal: controller.signal, release };
}
