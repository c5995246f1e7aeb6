import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../platform/db/database.js";
import { createLogger } from "../../platform/logger.js";
import { IDEMPOTENCY_KEY_TTL_MS, IdempotencyStore } from "./idempotency-store.js";

const LEASE_MS = 20_000;
const claimed = { state: "claimed", claimId: expect.any(String) };

describe("Idempotency-Key claims", () => {
  let database: Database;
  let store: IdempotencyStore;
  beforeAll(async () => {
    database = await openDatabase({ url: undefined, dataDir: "memory://", logger: createLogger("silent") });
    store = new IdempotencyStore(database.db, LEASE_MS);
  });
  afterAll(async () => {
    await database?.close();
  });

  it("claims a key once; a repeat is in progress, a different request a mismatch", async () => {
    const now = new Date("2026-01-01T00:00:00Z");
    expect(await store.claim("u1", "k1", "hash-a", now)).toEqual(claimed);
    expect(await store.claim("u1", "k1", "hash-a", now)).toEqual({ state: "in_progress" });
    expect(await store.claim("u1", "k1", "hash-b", now)).toEqual({ state: "mismatch" });
    // Keys are per user.
    expect(await store.claim("u2", "k1", "hash-b", now)).toEqual(claimed);
  });

  it("a key past its 24 hours can be claimed again, even for another request", async () => {
    const first = new Date("2026-02-01T00:00:00Z");
    expect(await store.claim("u3", "k", "hash-a", first)).toEqual(claimed);
    const almost = new Date(first.getTime() + IDEMPOTENCY_KEY_TTL_MS - 1000);
    expect(await store.claim("u3", "k", "hash-b", almost)).toEqual({ state: "mismatch" });
    const later = new Date(first.getTime() + IDEMPOTENCY_KEY_TTL_MS + 1000);
    expect(await store.claim("u3", "k", "hash-b", later)).toEqual(claimed);
    expect(await store.claim("u3", "k", "hash-b", later)).toEqual({ state: "in_progress" });
  });

  it("a forgotten key (its request failed) is free at once", async () => {
    const now = new Date("2026-03-01T00:00:00Z");
    const first = await store.claim("u4", "k", "hash-a", now);
    if (first.state !== "claimed") throw new Error("expected a claim");
    await store.forget("u4", "k", first.claimId);
    expect(await store.claim("u4", "k", "hash-b", now)).toEqual(claimed);
  });

  it("an unfinished claim past its lease is taken over by the same request, not by another", async () => {
    const now = new Date("2026-04-01T00:00:00Z");
    const first = await store.claim("u5", "k", "hash-a", now);
    const almost = new Date(now.getTime() + LEASE_MS - 1000);
    expect(await store.claim("u5", "k", "hash-a", almost)).toEqual({ state: "in_progress" });
    const later = new Date(now.getTime() + LEASE_MS + 1000);
    expect(await store.claim("u5", "k", "hash-b", later)).toEqual({ state: "mismatch" });
    const second = await store.claim("u5", "k", "hash-a", later);
    expect(second).toEqual(claimed);
    if (first.state !== "claimed" || second.state !== "claimed") throw new Error("expected claims");
    expect(second.claimId).not.toBe(first.claimId);
    // The first attempt, failing late, cannot free the key its successor holds.
    await store.forget("u5", "k", first.claimId);
    expect(await store.claim("u5", "k", "hash-a", later)).toEqual({ state: "in_progress" });
  });
});
