/** Liveness, readiness and Prometheus metrics. */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Registry } from "../platform/metrics.js";
import type { HttpMetrics } from "./http-metrics.js";

/** A dependency that /readyz asks; `check` rejects when it does not answer. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const READINESS_TIMEOUT_MS = 2000;

const ReadinessSchema = z
  .object({
    status: z.enum(["ready", "unavailable"]),
    checks: z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional() })),
  })
  .openapi("Readiness");

export function registerOperationsRoutes(
  app: OpenAPIHono,
  checks: ReadinessCheck[],
  registry: Registry,
  metrics: HttpMetrics,
): void {
  app.openapi(
    createRoute({
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
    }),
    (c) => metrics.track(c, () => c.json({ status: "ok" as const }, 200)),
  );

  app.openapi(
    createRoute({
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
    }),
    async (c) =>
      metrics.track(c, async () => {
        const results = await Promise.all(
          checks.map(async ({ name, check }) => [name, await probe(check)] as const),
        );
        const ready = results.every(([, result]) => result.ok);
        const body = {
          status: ready ? ("ready" as const) : ("unavailable" as const),
          checks: Object.fromEntries(results),
        };
        if (!ready) c.header("Retry-After", "5");
        return c.json(body, ready ? 200 : 503);
      }),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/metrics",
      tags: ["operations"],
      summary: "Prometheus metrics (text exposition format)",
      responses: { 200: { content: { "text/plain": { schema: z.string() } }, description: "Metrics" } },
    }),
    async (c) =>
      metrics.track(c, async () =>
        c.text(await registry.metrics(), 200, { "content-type": registry.contentType }),
      ),
  );
}

async function probe(check: () => Promise<void>): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${READINESS_TIMEOUT_MS} ms`)),
          READINESS_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
