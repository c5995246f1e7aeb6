/**
 * The scheduled full reload (CACHE_REFRESH_CRON): a change made behind the service's back (straight
 * in the database, so nothing invalidates the cache) shows up once the schedule has run.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasServiceUrls } from "./support/deployment.js";
import { startTestApp, type TestApp } from "./support/test-app.js";

describe.skipIf(!hasServiceUrls())("scheduled product cache reload", () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp("services", { CACHE_REFRESH_CRON: "*/4 * * * * *" });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("reloads every product on the cron schedule", async () => {
    const created = await fetch(`${app.baseUrl}/products`, {
      method: "POST",
      headers: { authorization: `Bearer ${app.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Vase", price_cents: 700, stock: 2 }),
    });
    const { id } = (await created.json()) as { id: string };
    const url = `${app.baseUrl}/products/${id}`;
    expect(((await (await fetch(url)).json()) as { name: string }).name).toBe("Vase");

    const sql = postgres(app.databaseUrl as string, { max: 1 });
    await sql`update inventory.products set name = 'Vase (renamed behind the cache)' where id = ${id}`;
    await sql.end();
    // Still cached right after the out-of-band change...
    expect(((await (await fetch(url)).json()) as { name: string }).name).toBe("Vase");

    // ...and refreshed by the every-4-seconds schedule soon after.
    const deadline = Date.now() + 8000;
    let name = "";
    while (Date.now() < deadline) {
      name = ((await (await fetch(url)).json()) as { name: string }).name;
      if (name !== "Vase") break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(name).toBe("Vase (renamed behind the cache)");
  });
});
