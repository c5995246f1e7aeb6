/**
 * The ceiling for product reads: a bare Hono route on @hono/node-server that returns one product
 * object from a Map, with no modules, cache or transport in between.
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const port = Number(process.argv[2] ?? 9101);
const product = {
  id: "0190c0de-0000-7000-8000-000000000001",
  name: "Espresso cup",
  description: "A small cup",
  category: "kitchen",
  price_cents: 1299,
  stock: 25,
  created_at: "2026-11-26T00:00:00.000Z",
  updated_at: "2026-11-26T00:00:00.000Z",
};
const products = new Map([[product.id, product]]);
const app = new Hono();
app.get("/products/:id", (c) => {
  const found = products.get(c.req.param("id"));
  return found ? c.json(found) : c.json({ error: "not found" }, 404);
});
serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () => {
  process.stdout.write(`ready ${port}\n`);
});
