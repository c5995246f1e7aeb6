/**
 * `npm start` with no configuration: embedded PGlite under DATA_DIR, printed URL and tokens,
 * clean stop on SIGTERM / SIGINT, and data that survives a restart.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runChildToExit, startChildApp } from "./support/child-app.js";

const dataDir = mkdtempSync(path.join(tmpdir(), "embedded-"));
// Below Linux's ephemeral range (32768–60999): between the stop and the restart, an outgoing
// connection (the suites' PostgreSQL clients, say) could otherwise be given this port.
const port = 20_000 + Math.floor(Math.random() * 12_000);
const env = { DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1", JWT_SECRET: "" };

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("npm start with embedded defaults", () => {
  it("prints the URL, the docs URL and working tokens, keeps data across a restart, and stops cleanly", async () => {
    const first = await startChildApp(env);
    const printed = first.output();
    expect(printed).toContain(`http://127.0.0.1:${port}`);
    expect(printed).toContain(`http://127.0.0.1:${port}/docs`);
    const admin = /admin token:\s+(\S+)/.exec(printed)?.[1];
    const customer = /customer token:\s+(\S+)/.exec(printed)?.[1];
    expect(admin).toBeDefined();
    expect(customer).toBeDefined();

    const base = `http://127.0.0.1:${port}`;
    const asCustomer = await fetch(`${base}/products`, {
      method: "POST",
      headers: { authorization: `Bearer ${customer}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Mug", price_cents: 900, stock: 3 }),
    });
    expect(asCustomer.status).toBe(403);
    const created = await fetch(`${base}/products`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Mug", price_cents: 900, stock: 3 }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };

    const firstStop = await first.stop("SIGTERM");
    if (firstStop.code !== 0) console.log(first.output());
    expect(firstStop.code).toBe(0);
    expect(firstStop.elapsedMs).toBeLessThan(10_000);

    // The secret was kept in DATA_DIR, so the first run's admin token still works.
    const second = await startChildApp(env);
    const read = await fetch(`${base}/products/${id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id, name: "Mug", price_cents: 900, stock: 3 });
    const update = await fetch(`${base}/products/${id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ stock: 4 }),
    });
    expect(update.status).toBe(200);
    const secondStop = await second.stop("SIGINT");
    expect(secondStop.code).toBe(0);
  }, 120_000);

  it("refuses an invalid setting with one line naming the variable", async () => {
    const { code, stderr } = await runChildToExit({ ...env, PORT: "eighty" });
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("PORT");
  });
});
