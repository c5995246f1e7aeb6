/**
 * HMAC accepts any key, an empty one too: a secret too short to sign with is refused wherever one
 * enters — the verifier itself, and the key kept in DATA_DIR (JWT_SECRET is checked with the rest
 * of the configuration, config.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { keptJwtSecret, resolveJwtSecret } from "./jwt-secret.js";
import { TokenVerifier } from "./token-verifier.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "secret-"));
  dirs.push(dir);
  return dir;
}

describe("the token secret", () => {
  it("the verifier refuses a secret shorter than 32 bytes, an empty one first", () => {
    expect(() => new TokenVerifier("")).toThrow(/at least 32 bytes/);
    expect(() => new TokenVerifier("x".repeat(31))).toThrow(/at least 32 bytes/);
    expect(() => new TokenVerifier("x".repeat(32))).not.toThrow();
  });

  it("a 32-byte secret verifies its own tokens", async () => {
    const secret = "s".repeat(32);
    const token = await new SignJWT({ role: "customer" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .sign(new TextEncoder().encode(secret));
    await expect(new TokenVerifier(secret).verify(token)).resolves.toEqual({
      userId: "alice",
      role: "customer",
    });
  });

  it.each([
    ["empty (a crash between creating and writing it)", ""],
    ["whitespace only", " \n"],
    ["shorter than 32 bytes", "short-secret\n"],
  ])("a kept key that is %s stops the start with a message naming the file", (_what, content) => {
    const dir = dataDir();
    writeFileSync(path.join(dir, "jwt-secret"), content);
    expect(() => resolveJwtSecret(undefined, dir)).toThrow(/jwt-secret holds a key shorter than 32 bytes/);
    expect(() => keptJwtSecret(dir)).toThrow(/delete it to have a new one generated, or set JWT_SECRET/);
  });

  it("a generated key is kept and read back on the next start", () => {
    const dir = dataDir();
    const first = resolveJwtSecret(undefined, dir);
    expect(first.generated).toBe(true);
    expect(Buffer.byteLength(first.secret)).toBeGreaterThanOrEqual(32);
    expect(resolveJwtSecret(undefined, dir)).toEqual(first);
  });
});
