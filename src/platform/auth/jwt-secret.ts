/**
 * The HS256 key: the configured one, or a random one generated on first start and kept in the
 * data directory so tokens stay valid across restarts.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { MIN_SECRET_BYTES, secretTooShort } from "../config.js";

export interface ResolvedSecret {
  secret: string;
  /** True when the secret came from DATA_DIR rather than configuration. */
  generated: boolean;
}

export function resolveJwtSecret(configured: string | undefined, dataDir: string): ResolvedSecret {
  if (configured !== undefined) return { secret: configured, generated: false };
  const kept = keptJwtSecret(dataDir);
  if (kept !== undefined) return { secret: kept, generated: true };
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(secretFile(dataDir), `${secret}\n`, { mode: 0o600, flag: "wx" });
  return { secret, generated: true };
}

/**
 * The secret generated earlier and kept in `dataDir`, without making one; undefined if none.
 * Throws when the file holds a key too short to sign with (empty after a crash mid-write, or
 * edited by hand): HMAC takes any key, even an empty one, and tokens signed with it would be
 * anyone's to forge.
 */
export function keptJwtSecret(dataDir: string): string | undefined {
  let kept: string;
  try {
    kept = readFileSync(secretFile(dataDir), "utf8").trim();
  } catch {
    return undefined;
  }
  if (secretTooShort(kept)) {
    throw new Error(
      `${secretFile(dataDir)} holds a key shorter than ${MIN_SECRET_BYTES} bytes: delete it to have a new one generated, or set JWT_SECRET`,
    );
  }
  return kept;
}

function secretFile(dataDir: string): string {
  return path.resolve(dataDir, "jwt-secret");
}
