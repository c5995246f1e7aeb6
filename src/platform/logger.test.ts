import { execFileSync } from "node:child_process";
import { context, ROOT_CONTEXT, TraceFlags, type Tracer, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturedLog } from "../../test/support/captured-log.js";
import { setActiveTracer } from "./observability/tracing.js";

const SPAN = {
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
  traceFlags: TraceFlags.SAMPLED,
};

describe("log lines and traces", () => {
  const manager = new AsyncLocalStorageContextManager();
  beforeAll(() => {
    context.setGlobalContextManager(manager.enable());
  });
  afterAll(() => {
    setActiveTracer(undefined);
    context.disable();
  });

  it("names the active span in every line while tracing is on, and nothing outside a span", async () => {
    const log = capturedLog();
    setActiveTracer({} as Tracer);
    await context.with(trace.setSpanContext(ROOT_CONTEXT, SPAN), async () => {
      log.logger.warn("inside, before an await");
      await new Promise((resolve) => setTimeout(resolve, 1));
      log.logger.warn({ traceId: "own" }, "inside, with a field of its own");
    });
    log.logger.warn("outside");
    expect(log.lines.map(({ msg, traceId, spanId }) => ({ msg, traceId, spanId }))).toEqual([
      { msg: "inside, before an await", traceId: SPAN.traceId, spanId: SPAN.spanId },
      { msg: "inside, with a field of its own", traceId: "own", spanId: SPAN.spanId },
      { msg: "outside", traceId: undefined, spanId: undefined },
    ]);
  });

  it("adds nothing while tracing is off, even inside a span's context", () => {
    const log = capturedLog();
    setActiveTracer(undefined);
    context.with(trace.setSpanContext(ROOT_CONTEXT, SPAN), () => log.logger.warn("untraced"));
    expect(log.lines[0]).not.toHaveProperty("traceId");
  });
});

describe("LOG_FORMAT=pretty", () => {
  it("prints lines for a person, not JSON", () => {
    const script = `import { createLogger } from ${JSON.stringify(new URL("./logger.ts", import.meta.url).pathname)};
createLogger("info", "pretty").info({ orderId: "o-1" }, "pretty line");`;
    const output = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    const line = output.split("\n").find((text) => text.includes("pretty line"));
    expect(line).toBeDefined();
    expect(line).toMatch(/INFO/);
    expect(line?.trimStart().startsWith("{")).toBe(false);
    expect(output).toContain('orderId: "o-1"');
  });
});
