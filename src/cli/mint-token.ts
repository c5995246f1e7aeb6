/**
 * `npm run token -- --sub alice --role customer [--expires 30d]`: prints a bearer token signed with
 * JWT_SECRET, or with the secret generated in DATA_DIR.
 */
import { parseArgs } from "node:util";
import { mintToken, resolveJwtSecret, USER_ROLES, type UserRole } from "../platform/auth/index.js";
import { ConfigError, loadConfig } from "../platform/config.js";

try {
  const { values } = parseArgs({
    options: {
      sub: { type: "string" },
      role: { type: "string", default: "customer" },
      expires: { type: "string", default: "30d" },
    },
  });
  if (!values.sub) throw new Error("--sub <user id> is required");
  // The service credential is minted by the processes themselves and never handed out.
  if (!USER_ROLES.includes(values.role as UserRole))
    throw new Error(`--role must be one of ${USER_ROLES.join(", ")}`);
  const config = loadConfig(process.env);
  const { secret } = resolveJwtSecret(config.jwtSecret, config.dataDir);
  const token = await mintToken(secret, {
    sub: values.sub,
    role: values.role as UserRole,
    expiresIn: values.expires,
  });
  process.stdout.write(`${token}\n`);
} catch (error) {
  const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
