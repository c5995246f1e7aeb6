/**
 * The ceiling for product reads: a bare Hono route on @hono/node-server that returns a product
 * object from a Map, with no modules, cache or transport in between. Argument 2: how many products
 * it holds (default 1), with ids ending in 1, 2, … (catalogIds).
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { catalogIds } from "./baseline-catalog.js";

const port = Number(process.argv[2] ?? 9101);
const count = Number(process.argv[3] ?? 1);
const template = {
  name: "Espresso cup",
  description: "A small cup",
  category: "kitchen",
  price_cents: 1299,
  stock: 25,
  created_at: "2026-11-26T00:00:00.000Z",
  updated_at: "2026-11-26T00:00:00.000Z",
};
const products = new Map(catalogIds(count).map((id) => [id, { id, ...template }]));
const app = new Hono();
app.get("/products/:id", (c) => {
  const found = products.get(c.req.param("id"));
  return found ? c.json(found) : c.json({ error: "not found" }, 404);
});
serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () => {
  process.stdout.write(`ready ${port}\n`);
});
