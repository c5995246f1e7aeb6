import { test } from "vitest";
import { pgSchema } from "drizzle-orm/pg-core";
import { defineOutboxTable } from "./outbox-table.js";
test("x", async () => {
  const api = await import("drizzle-kit/api");
  const s = pgSchema("inv");
  const t = defineOutboxTable(s);
  const prev = api.generateDrizzleJson({});
  const cur = api.generateDrizzleJson({ s, t });
  const stmts = await api.generateMigration(prev, cur);
  console.log(stmts);
});
