import { describe, expect, it } from "vitest";
import { UsersAtPendingLimit } from "./users-at-pending-limit.js";

describe("UsersAtPendingLimit", () => {
  it("remembers a refused customer until forgotten or until the memory lapses", () => {
    let now = 0;
    const users = new UsersAtPendingLimit(1_000, 10, () => now);
    expect(users.mayBeAtLimit("ann")).toBe(false);
    users.remember("ann");
    expect(users.mayBeAtLimit("ann")).toBe(true);
    expect(users.mayBeAtLimit("bob")).toBe(false);
    users.forget("ann");
    expect(users.mayBeAtLimit("ann")).toBe(false);
    users.remember("ann");
    now = 999;
    expect(users.mayBeAtLimit("ann")).toBe(true);
    now = 1_000;
    expect(users.mayBeAtLimit("ann")).toBe(false);
  });

  it("stays bounded: a full memory starts over", () => {
    const users = new UsersAtPendingLimit(60_000, 3);
    for (const user of ["a", "b", "c"]) users.remember(user);
    users.remember("d");
    expect(["a", "b", "c", "d"].filter((user) => users.mayBeAtLimit(user))).toEqual(["d"]);
  });
});
