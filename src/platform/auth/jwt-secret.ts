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
  const file = path.resolve(dataDir, "jwt-secret");
  try {
    return { secret: readFileSync(file, "utf8").trim(), generated: true };
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString("base64url");
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
    return { secret, generated: true };
  }
}
