/**
 * LayeredCache's metrics: hits per layer, misses, loads and L2 errors, per cache name; several
 * caches share one registry's counters. The cache itself: layered-cache.ts and
 * docs/cache-protocol.md.
 */
import { Counter, perRegistry, type Registry } from "../metrics.js";

/** What one cache counts. */
export interface CacheMetrics {
  l1Hit(): void;
  l2Hit(count: number): void;
  miss(count: number): void;
  load(): void;
  l2Error(): void;
}

interface Instruments {
  /** Add each cache's pending L1 hit tally to `hits`; run when the registry is scraped. */
  flushers: Set<() => void>;
  hits: Counter<"cache" | "layer">;
  misses: Counter<"cache">;
  loads: Counter<"cache">;
  l2Errors: Counter<"cache">;
}

const instrumentsFor = perRegistry((registry): Instruments => {
  const flushers = new Set<() => void>();
  const counter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ["cache"], registers: [registry] });
  return {
    flushers,
    hits: new Counter({
      name: "cache_hits_total",
      help: "Cache reads answered by a cache layer.",
      labelNames: ["cache", "layer"],
      registers: [registry],
      // L1 hits are tallied in plain numbers and added here, at scrape time: a labelled
      // increment hashes its labels, a visible cost on the hottest read.
      collect() {
        for (const flush of flushers) flush();
      },
    }),
    misses: counter("cache_misses_total", "Cache reads answered by neither layer."),
    loads: counter("cache_loads_total", "Loads from the source of truth."),
    l2Errors: counter(
      "cache_l2_errors_total",
      "Second-layer operations that failed (treated as a miss / no-op).",
    ),
  };
});

/**
 * The counters of the cache named `cache` in `registry`; no-ops without a registry. A `copy` of a
 * cache it reads through counts only its L1 hits (LayeredCacheOptions.countsAsCopy).
 */
export function cacheMetrics(
  registry: Registry | undefined,
  cache: string,
  { copy }: { copy: boolean } = { copy: false },
): CacheMetrics {
  const noop = (): void => {};
  if (registry === undefined) return { l1Hit: noop, l2Hit: noop, miss: noop, load: noop, l2Error: noop };
  const instruments = instrumentsFor(registry);
  const l1 = instruments.hits.labels({ cache, layer: "l1" });
  let l1Pending = 0;
  instruments.flushers.add(() => {
    if (l1Pending > 0) l1.inc(l1Pending);
    l1Pending = 0;
  });
  const l1Hit = () => {
    l1Pending++;
  };
  if (copy) return { l1Hit, l2Hit: noop, miss: noop, load: noop, l2Error: noop };
  const l2 = instruments.hits.labels({ cache, layer: "l2" });
  const misses = instruments.misses.labels({ cache });
  const loads = instruments.loads.labels({ cache });
  const l2Errors = instruments.l2Errors.labels({ cache });
  return {
    l1Hit,
    l2Hit: (count) => {
      if (count > 0) l2.inc(count);
    },
    miss: (count) => {
      if (count > 0) misses.inc(count);
    },
    load: () => loads.inc(),
    l2Error: () => l2Errors.inc(),
  };
}
