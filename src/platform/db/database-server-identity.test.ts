/**
 * Which PostgreSQL server a process is on: equal for every database of one running server, and
 * different for a copy of its data started apart, which has the same system identifier. Inventory
 * leaves a reservation's flush to the caller only when the two are equal (docs/guarantees.md, "A
 * reservation's commit"), so a copy taken for the same one would lose durability.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { useFreshDatabase } from "../../../test/support/database-test-setup.js";
import { createLogger } from "../logger.js";
import { MEMORY, openDatabase } from "./database.js";
import { readServerIdentity } from "./database-server-identity.js";
import { startEmbeddedPostgres } from "./embedded-postgres.js";

const logger = createLogger("silent");

/** The identity a connection to `url` reads, and the server's system identifier asked directly. */
async function identityAt(url: string): Promise<{ identity: string | undefined; systemIdentifier: string }> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ id: string }[]>`select system_identifier::text as id from pg_control_system()`;
    return { identity: await readServerIdentity(sql), systemIdentifier: row?.id ?? "" };
  } finally {
    await sql.end();
  }
}

describe("the server a process stores its data on", () => {
  it("is unknown on PGlite, so no reservation's flush is left to a caller there", async () => {
    const database = await openDatabase({ url: undefined, dataDir: MEMORY, logger });
    try {
      expect(database.serverIdentity).toBeUndefined();
    } finally {
      await database.close();
    }
  });

  it("is unknown when the server cannot say it (the query fails)", async () => {
    const closed = postgres("postgres://nobody@127.0.0.1:1/none", { max: 1, connect_timeout: 1 });
    expect(await readServerIdentity(closed)).toBeUndefined();
    await closed.end();
  });
});

describe.skipIf(!process.env.DATABASE_URL)("the server a process stores its data on, PostgreSQL", () => {
  const fresh = useFreshDatabase();

  it("is the same for every database of one server: its system identifier and start time", async () => {
    const database = await openDatabase({ url: fresh.url, dataDir: "unused", logger, maxConnections: 1 });
    try {
      const elsewhere = await identityAt(process.env.DATABASE_URL as string);
      expect(new URL(fresh.url).pathname).not.toBe(new URL(process.env.DATABASE_URL as string).pathname);
      expect(database.serverIdentity).toMatch(/^\d+:\d+$/);
      expect(database.serverIdentity).toBe(elsewhere.identity);
      expect(database.serverIdentity?.split(":")[0]).toBe(elsewhere.systemIdentifier);
    } finally {
      await database.close();
    }
  });
});

describe("the server a process stores its data on, a copy of it", () => {
  const root = mkdtempSync(path.join(tmpdir(), "server-identity-"));
  // Run as root, the server runs as `postgres`, which must get through to the data directories.
  chmodSync(root, 0o755);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("differs for a copy of the data started apart, though the system identifier is the same", async () => {
    const original = path.join(root, "original");
    const copy = path.join(root, "copy");
    const first = await startEmbeddedPostgres(original, logger);
    const before = await identityAt(first.url);
    await first.stop();
    // Ownership and modes kept: PostgreSQL refuses a data directory that is not its user's.
    execFileSync("cp", ["-a", original, copy]);

    const restarted = await startEmbeddedPostgres(original, logger);
    const copied = await startEmbeddedPostgres(copy, logger);
    try {
      const [again, ofCopy] = await Promise.all([identityAt(restarted.url), identityAt(copied.url)]);
      expect(ofCopy.systemIdentifier).toBe(again.systemIdentifier);
      expect(ofCopy.identity).toMatch(/^\d+:\d+$/);
      expect(again.identity).toMatch(/^\d+:\d+$/);
      expect(ofCopy.identity).not.toBe(again.identity);
      // A restart is another start: a process still holding the identity from before compares
      // unequal with one that read it since, and the reservation's commit waits for the disk.
      expect(again.identity).not.toBe(before.identity);
    } finally {
      await Promise.all([restarted.stop(), copied.stop()]);
    }
  }, 120_000);
});
