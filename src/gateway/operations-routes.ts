/**
 * Liveness, readiness and Prometheus metrics. Readiness names the dependency that does not answer
 * but never its error (hosts, ports, credentials): that goes to the log, once per change.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Logger } from "../platform/logger.js";
import type { Registry } from "../platform/metrics.js";
import { errorMessage } from "../platform/rate-limited-log.js";
import { withTimeout } from "../platform/with-timeout.js";

/** A dependency that /readyz asks; `check` rejects when it does not answer. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** How long one readiness check may take before it counts as failed. */
export const READINESS_TIMEOUT_MS = 2000;

const ReadinessSchema = z
  .object({
    status: z.enum(["ready", "unavailable", "draining"]),
    checks: z.record(z.string(), z.object({ ok: z.boolean() })),
  })
  .openapi("Readiness");

export interface OperationsOptions {
  checks: ReadinessCheck[];
  /** True from the moment the process starts stopping: readiness fails at once. */
  draining: () => boolean;
  registry: Registry;
  logger: Logger;
}

const livenessRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["operations"],
  summary: "Liveness: 200 while the process runs",
  responses: {
    200: {
      content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } },
      description: "Alive",
    },
  },
});

const readinessRoute = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["operations"],
  summary: "Readiness: 200 when every configured dependency answers, else 503 naming those that do not",
  responses: {
    200: { content: { "application/json": { schema: ReadinessSchema } }, description: "Ready" },
    503: {
      content: { "application/json": { schema: ReadinessSchema } },
      description: "A dependency is down",
    },
  },
});

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["operations"],
  summary: "Prometheus metrics (text exposition format)",
  responses: { 200: { content: { "text/plain": { schema: z.string() } }, description: "Metrics" } },
});

export function registerOperationsRoutes(app: OpenAPIHono, options: OperationsOptions): void {
  const { checks, registry } = options;
  const failing = new Map<string, string>();
  /** Logs a dependency's failure when it starts (or its reason changes) and its recovery. */
  const remember = (name: string, result: ProbeResult) => {
    const before = failing.get(name);
    if (result.ok) {
      if (before !== undefined)
        options.logger.info({ dependency: name }, "readiness: dependency answers again");
      failing.delete(name);
    } else if (before !== result.error) {
      options.logger.warn({ dependency: name, err: result.error }, "readiness: dependency does not answer");
      failing.set(name, result.error);
    }
  };

  app.openapi(livenessRoute, (c) => c.json({ status: "ok" as const }, 200));

  app.openapi(readinessRoute, async (c) => {
    if (options.draining()) {
      c.header("Retry-After", "5");
      return c.json({ status: "draining" as const, checks: {} }, 503);
    }
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        const result = await probe(check);
        remember(name, result);
        return [name, { ok: result.ok }] as const;
      }),
    );
    const ready = results.every(([, result]) => result.ok) && !options.draining();
    const body = {
      status: ready ? ("ready" as const) : ("unavailable" as const),
      checks: Object.fromEntries(results),
    };
    if (!ready) c.header("Retry-After", "5");
    return c.json(body, ready ? 200 : 503);
  });

  app.openapi(metricsRoute, async (c) =>
    c.text(await registry.metrics(), 200, { "content-type": registry.contentType }),
  );
}

type ProbeResult = { ok: true } | { ok: false; error: string };

async function probe(check: () => Promise<void>): Promise<ProbeResult> {
  try {
    await withTimeout(
      check(),
      READINESS_TIMEOUT_MS,
      () => new Error(`no answer within ${READINESS_TIMEOUT_MS} ms`),
    );
    return { ok: true };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}
