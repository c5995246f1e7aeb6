import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../platform/db/database.js";
import { createLogger } from "../../platform/logger.js";
import { IDEMPOTENCY_KEY_TTL_MS, IdempotencyStore } from "./idempotency-store.js";

describe("Idempotency-Key claims", () => {
  let database: Database;
  let store: IdempotencyStore;
  beforeAll(async () => {
    database = await openDatabase({ url: undefined, dataDir: "memory://", logger: createLogger("silent") });
    store = new IdempotencyStore(database.db);
  });
  afterAll(async () => {
    await database?.close();
  });

  it("claims a key once; a repeat is in progress, a different request a mismatch", async () => {
    const now = new Date("2026-01-01T00:00:00Z");
    expect(await store.claim("u1", "k1", "hash-a", now)).toEqual({ state: "claimed" });
    expect(await store.claim("u1", "k1", "hash-a", now)).toEqual({ state: "in_progress" });
    expect(await store.claim("u1", "k1", "hash-b", now)).toEqual({ state: "mismatch" });
    // Keys are per user.
    expect(await store.claim("u2", "k1", "hash-b", now)).toEqual({ state: "claimed" });
  });

  it("a key past its 24 hours can be claimed again, even for another request", async () => {
    const first = new Date("2026-02-01T00:00:00Z");
    expect(await store.claim("u3", "k", "hash-a", first)).toEqual({ state: "claimed" });
    const almost = new Date(first.getTime() + IDEMPOTENCY_KEY_TTL_MS - 1000);
    expect(await store.claim("u3", "k", "hash-b", almost)).toEqual({ state: "mismatch" });
    const later = new Date(first.getTime() + IDEMPOTENCY_KEY_TTL_MS + 1000);
    expect(await store.claim("u3", "k", "hash-b", later)).toEqual({ state: "claimed" });
    expect(await store.claim("u3", "k", "hash-b", later)).toEqual({ state: "in_progress" });
  });

  it("a forgotten key (its request failed) is free at once", async () => {
    const now = new Date("2026-03-01T00:00:00Z");
    expect(await store.claim("u4", "k", "hash-a", now)).toEqual({ state: "claimed" });
    await store.forget("u4", "k");
    expect(await store.claim("u4", "k", "hash-b", now)).toEqual({ state: "claimed" });
  });
});
