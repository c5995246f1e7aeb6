import { describe, expect, it } from "vitest";
import { Counter, createMetricsRegistry, perRegistry } from "./metrics.js";

describe("perRegistry", () => {
  it("creates the instruments once per registry and shares them among their users", async () => {
    let created = 0;
    const instrumentsFor = perRegistry((registry) => {
      created++;
      return new Counter({
        name: "widgets_total",
        help: "Widgets.",
        labelNames: ["kind"],
        registers: [registry],
      });
    });
    const registry = createMetricsRegistry({ defaultMetrics: false });
    instrumentsFor(registry).inc({ kind: "a" });
    // A second user on the same registry: no second registration (prom-client would throw).
    instrumentsFor(registry).inc({ kind: "a" });
    expect(created).toBe(1);
    expect(await registry.metrics()).toMatch(/^widgets_total\{kind="a"\} 2$/m);

    const other = createMetricsRegistry({ defaultMetrics: false });
    expect(instrumentsFor(other)).not.toBe(instrumentsFor(registry));
    expect(created).toBe(2);
  });
});
