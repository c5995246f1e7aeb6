/**
 * The HS256 key: the configured one, or a random one generated on first start and kept in the
 * data directory so tokens stay valid across restarts.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

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

/** The secret generated earlier and kept in `dataDir`, without making one; undefined if none. */
export function keptJwtSecret(dataDir: string): string | undefined {
  try {
    return readFileSync(secretFile(dataDir), "utf8").trim();
  } catch {
    return undefined;
  }
}

function secretFile(dataDir: string): string {
  return path.resolve(dataDir, "jwt-secret");
}
