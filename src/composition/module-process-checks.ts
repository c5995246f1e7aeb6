/**
 * Readiness of the module processes this process calls — one check per `*_URL` it is given (the
 * configuration refuses a URL for a module hosted here, so each names a process it calls): the
 * process must answer its `/healthz`. Its liveness, not its readiness: the callee's own
 * dependencies are its own checks, and chaining readiness would take every caller out of rotation
 * whenever one of its databases blinks. docs/operations.md, "Health".
 */
import { READINESS_TIMEOUT_MS, type ReadinessCheck } from "../gateway/operations-routes.js";
import type { Config } from "../platform/config.js";

export function moduleProcessChecks(config: Config): ReadinessCheck[] {
  const urls = { inventory: config.inventoryUrl, orders: config.ordersUrl, statistics: config.statisticsUrl };
  return Object.entries(urls).flatMap(([name, url]) =>
    url === undefined ? [] : [{ name, check: () => answersHealthz(name, url) }],
  );
}

async function answersHealthz(name: string, url: string): Promise<void> {
  // The probe gives up after READINESS_TIMEOUT_MS anyway; the signal also ends the request then.
  const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(READINESS_TIMEOUT_MS) });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`${name} answered /healthz with ${response.status}`);
}
