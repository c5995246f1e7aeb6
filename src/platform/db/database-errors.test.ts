import { describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { openDatabase } from "./database.js";
import { isTransientDatabaseError } from "./database-errors.js";

const logger = createLogger("silent");

describe("isTransientDatabaseError", () => {
  it("calls outages transient, wherever the driver's error sits in the cause chain", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    expect(isTransientDatabaseError(refused)).toBe(true);
    expect(isTransientDatabaseError(new Error("Failed query", { cause: refused }))).toBe(true);
    expect(isTransientDatabaseError(Object.assign(new Error("closed"), { code: "CONNECTION_CLOSED" }))).toBe(
      true,
    );
    const shutdown = Object.assign(new Error("terminating connection due to administrator command"), {
      code: "57P01",
    });
    expect(isTransientDatabaseError(new Error("Failed query", { cause: shutdown }))).toBe(true);
    expect(isTransientDatabaseError(Object.assign(new Error("deadlock detected"), { code: "40P01" }))).toBe(
      true,
    );
  });

  it("calls errors of the statement itself permanent", () => {
    const overflow = Object.assign(new Error("bigint out of range"), { code: "22003" });
    expect(isTransientDatabaseError(new Error("Failed query", { cause: overflow }))).toBe(false);
    expect(isTransientDatabaseError(Object.assign(new Error("duplicate key"), { code: "23505" }))).toBe(
      false,
    );
    expect(isTransientDatabaseError(new Error("no code"))).toBe(false);
    expect(isTransientDatabaseError(undefined)).toBe(false);
  });

  it("recognises what the driver throws when PostgreSQL cannot be reached", async () => {
    // Nothing listens on port 1: the connection is refused.
    const error = await openDatabase({
      url: "postgres://postgres@127.0.0.1:1/none",
      dataDir: "unused",
      logger,
    }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeDefined();
    expect(isTransientDatabaseError(error)).toBe(true);
  });
});
