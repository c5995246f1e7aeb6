/**
 * `npm run seed [-- --url http://localhost:8080] [--token <admin token>]`: fills a running platform
 * with a demo shop through its public API (demo-shop.ts). Tokens are minted as `npm run token`
 * mints them, from JWT_SECRET or the secret the platform keeps in DATA_DIR; with only `--token`
 * (an admin's), orders are placed on the customers' behalf and no reviews are written. A progress
 * bar on a terminal, a line per step otherwise. Each run adds a batch of its own.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { keptJwtSecret, mintToken } from "../platform/auth/index.js";
import { loadConfig } from "../platform/config.js";
import { seedDemoShop } from "./demo-shop.js";

/** Pending orders one customer may hold by default (MAX_PENDING_ORDERS), with room to spare. */
const PENDING_PER_CUSTOMER = 15;

try {
  const { values } = parseArgs({
    options: {
      url: { type: "string", default: "http://localhost:8080" },
      token: { type: "string" },
      customers: { type: "string", default: "40" },
      "orders-per-status": { type: "string", default: "100" },
    },
  });
  const customers = positive("--customers", values.customers);
  const ordersPerStatus = positive("--orders-per-status", values["orders-per-status"]);
  if (customers * PENDING_PER_CUSTOMER < ordersPerStatus) {
    throw new Error(
      `--customers ${customers} is too few for ${ordersPerStatus} pending orders (a customer may hold ${PENDING_PER_CUSTOMER})`,
    );
  }
  const config = loadConfig(process.env);
  const secret = config.jwtSecret ?? keptJwtSecret(config.dataDir);
  if (secret === undefined && values.token === undefined) {
    throw new Error(
      `no JWT_SECRET, no secret kept in ${path.resolve(config.dataDir)}, and no --token: set one of them as the platform has it`,
    );
  }
  const adminToken =
    values.token ??
    (await mintToken(secret as string, { sub: "demo-admin", role: "admin", expiresIn: "1h" }));
  const baseUrl = values.url.replace(/\/+$/, "");
  const started = Date.now();
  const summary = await seedDemoShop({
    baseUrl,
    adminToken,
    customerToken:
      secret === undefined
        ? undefined
        : (sub) => mintToken(secret, { sub, role: "customer", expiresIn: "1h" }),
    customers,
    ordersPerStatus,
    progress: progressPrinter(),
  });
  const statuses = Object.entries(summary.ordersByStatus)
    .map(([status, count]) => `${count} ${status}`)
    .join(", ");
  process.stdout.write(
    `seeded batch ${summary.batch} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${summary.products} products, ${summary.discounts} discounts, ${summary.customers} customers, orders ${statuses}, ${summary.reviews} reviews\n`,
  );
} catch (error) {
  process.stderr.write(`\n${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number`);
  return value;
}

/** A bar redrawn in place on a terminal; elsewhere (CI, a pipe) one line when a step begins. */
function progressPrinter(): (done: number, total: number, step: string) => void {
  let lastStep = "";
  let lastDrawn = 0;
  return (done, total, step) => {
    if (!process.stdout.isTTY) {
      if (step !== lastStep) process.stdout.write(`${step}…\n`);
      lastStep = step;
      return;
    }
    const now = Date.now();
    if (done < total && now - lastDrawn < 50) return;
    lastDrawn = now;
    const width = 30;
    const filled = Math.round((done / total) * width);
    const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
    process.stdout.write(
      `\r${bar} ${String(Math.round((done / total) * 100)).padStart(3)} %  ${step.padEnd(10)}`,
    );
    if (done === total) process.stdout.write("\n");
  };
}
