/**
 * The floor for placing an order: a bare Hono route doing the minimal work by hand with
 * postgres.js, in one transaction: insert the order and its two items, and decrement two stock
 * rows (conditionally, so it cannot oversell either). Tables live in a schema of its own.
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import postgres from "postgres";

const port = Number(process.argv[2] ?? 9104);
const sql = postgres(process.argv[3] as string, { max: 10, onnotice: () => {} });

await sql.unsafe(`
  create schema if not exists baseline;
  create table if not exists baseline.products (id uuid primary key, price_cents bigint not null, stock int not null check (stock >= 0));
  create table if not exists baseline.orders (id uuid primary key, user_id text not null, total_cents bigint not null, created_at timestamptz not null default now());
  create table if not exists baseline.order_items (order_id uuid not null references baseline.orders(id), product_id uuid not null, quantity int not null, unit_price_cents bigint not null, primary key (order_id, product_id));
`);

class OutOfStock extends Error {}

const app = new Hono();
app.post("/orders", async (c) => {
  const { items } = (await c.req.json()) as { items: { product_id: string; quantity: number }[] };
  const lines = [...items].sort((a, b) => (a.product_id < b.product_id ? -1 : 1));
  try {
    const id = crypto.randomUUID();
    await sql.begin(async (tx) => {
      const prices: bigint[] = [];
      for (const line of lines) {
        const [row] = await tx`update baseline.products set stock = stock - ${line.quantity}
          where id = ${line.product_id} and stock >= ${line.quantity} returning price_cents`;
        if (!row) throw new OutOfStock();
        prices.push(BigInt(row.price_cents));
      }
      const total = lines.reduce(
        (sum, line, index) => sum + BigInt(line.quantity) * (prices[index] as bigint),
        0n,
      );
      await tx`insert into baseline.orders (id, user_id, total_cents) values (${id}, 'bench', ${total.toString()})`;
      for (const [index, line] of lines.entries()) {
        await tx`insert into baseline.order_items (order_id, product_id, quantity, unit_price_cents)
          values (${id}, ${line.product_id}, ${line.quantity}, ${(prices[index] as bigint).toString()})`;
      }
    });
    return c.json({ id }, 201);
  } catch (error) {
    if (error instanceof OutOfStock) return c.json({ error: "out of stock" }, 409);
    throw error;
  }
});
app.post("/seed", async (c) => {
  const { products } = (await c.req.json()) as {
    products: { id: string; price_cents: number; stock: number }[];
  };
  for (const product of products) {
    await sql`insert into baseline.products (id, price_cents, stock) values (${product.id}, ${product.price_cents}, ${product.stock})`;
  }
  return c.json({ ok: true });
});
app.get("/stock-taken", async (c) => {
  const [row] =
    await sql`select (select coalesce(sum(quantity), 0) from baseline.order_items)::bigint as ordered`;
  return c.json({ ordered: Number(row?.ordered ?? 0) });
});
serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () => {
  process.stdout.write(`ready ${port}\n`);
});
