/**
 * The process's Prometheus registry. Each piece of the platform registers its own instruments on
 * the registry it is given, so tests can use a fresh one and the process exposes one at /metrics.
 */
import { collectDefaultMetrics, Registry } from "prom-client";

export { Counter, Gauge, Histogram, Registry } from "prom-client";

export function createMetricsRegistry(options: { defaultMetrics: boolean }): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}
