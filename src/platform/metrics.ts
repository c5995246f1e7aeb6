/**
 * The process's Prometheus registry. Each piece of the platform registers its own instruments on
 * the registry it is given, so tests can use a fresh one and the process exposes one at /metrics.
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import { oncePer } from "./once-per.js";

export { Counter, Gauge, Histogram, Registry } from "prom-client";

export function createMetricsRegistry(options: { defaultMetrics: boolean }): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * `create`, run once per registry: the instruments several instances share (every cache, store or
 * relay on one registry reports into the same series, each with its own label), made the first
 * time one of them needs them.
 */
export function perRegistry<T>(create: (registry: Registry) => T): (registry: Registry) => T {
  return oncePer(create);
}
