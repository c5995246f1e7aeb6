import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hydrateSymlinks } from "./embedded-postgres.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("hydrateSymlinks", () => {
  it("makes the library links an install without scripts left out, relative, and keeps existing ones", () => {
    dir = mkdtempSync(path.join(tmpdir(), "symlinks-"));
    const native = path.join(dir, "native");
    mkdirSync(path.join(native, "lib"), { recursive: true });
    writeFileSync(path.join(native, "lib", "libpq.so.5.18"), "");
    writeFileSync(path.join(native, "lib", "libpq.so"), "kept");
    writeFileSync(
      path.join(native, "pg-symlinks.json"),
      JSON.stringify([
        { source: "native/lib/libpq.so.5.18", target: "native/lib/libpq.so.5" },
        { source: "native/lib/libpq.so.5.18", target: "native/lib/libpq.so" },
      ]),
    );
    hydrateSymlinks(native);
    hydrateSymlinks(native); // twice: nothing to do the second time
    expect(readlinkSync(path.join(native, "lib", "libpq.so.5"))).toBe("libpq.so.5.18");
    expect(existsSync(path.join(native, "lib", "libpq.so.5"))).toBe(true);
    expect(() => readlinkSync(path.join(native, "lib", "libpq.so"))).toThrow();
  });
});
