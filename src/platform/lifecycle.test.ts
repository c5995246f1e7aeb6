import { describe, expect, it } from "vitest";
import { Lifecycle } from "./lifecycle.js";
import { createLogger } from "./logger.js";

const logger = createLogger("silent");

describe("Lifecycle stopping", () => {
  it("stops the steps in the reverse of their start order, once, reporting what each abandoned", async () => {
    const events: string[] = [];
    const life = new Lifecycle(logger);
    const db = await life.run({
      name: "database",
      start: () => {
        events.push("start database");
        return "db";
      },
      stop: async (started) => {
        events.push(`stop database (${started})`);
      },
    });
    expect(db).toBe("db");
    await life.run({
      name: "http",
      start: () => {
        events.push("start http");
      },
      stop: async () => {
        events.push("stop http");
        return "2 connection(s) cut";
      },
    });
    const first = life.stop();
    const second = life.stop();
    expect(second).toBe(first);
    expect(await first).toEqual({ abandoned: ["http: 2 connection(s) cut"] });
    expect(events).toEqual(["start database", "start http", "stop http", "stop database (db)"]);
  });

  it("describes the steps left while stopping: the one in progress with its detail, then the rest", async () => {
    const life = new Lifecycle(logger);
    let release = () => {};
    await life.run({ name: "database", start: () => undefined, stop: async () => undefined });
    await life.run({
      name: "modules",
      start: () => "orders",
      stop: () => new Promise<void>((resolve) => (release = resolve)),
      describe: (module) => `stopping module ${module}`,
    });
    const stopping = life.stop();
    expect(life.progress()).toEqual([
      "modules (in progress): stopping module orders",
      "database (not started)",
    ]);
    release();
    await stopping;
    expect(life.progress()).toEqual([]);
  });
});

describe("Lifecycle with a failing step", () => {
  it("undoes a step whose start failed halfway, with the steps before it, and goes on past a failing stop", async () => {
    const events: string[] = [];
    const life = new Lifecycle(logger);
    await life.run({
      name: "bus",
      start: () => undefined,
      stop: async () => {
        events.push("stop bus");
      },
    });
    await life.run({
      name: "cache",
      start: () => undefined,
      stop: async () => {
        throw new Error("cannot close");
      },
    });
    const started: string[] = [];
    await expect(
      life.run({
        name: "modules",
        start: async () => {
          started.push("inventory");
          throw new Error("orders did not start");
        },
        stop: async (value) => {
          events.push(
            `stop modules (${value === undefined ? "start unfinished" : "started"}: ${started.join()})`,
          );
        },
      }),
    ).rejects.toThrow("orders did not start");
    await life.stop();
    expect(events).toEqual(["stop modules (start unfinished: inventory)", "stop bus"]);
  });
});
