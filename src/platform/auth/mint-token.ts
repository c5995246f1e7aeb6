/** Signs a bearer token; used by start-up, `npm run token` and tests. */
import { SignJWT } from "jose";
import type { Role } from "./principal.js";

export interface MintOptions {
  sub: string;
  role: Role;
  /** e.g. "30d", "1h"; omitted means no expiry. */
  expiresIn?: string;
}

export function mintToken(secret: string, options: MintOptions): Promise<string> {
  let jwt = new SignJWT({ role: options.role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(options.sub)
    .setIssuedAt();
  if (options.expiresIn !== undefined) jwt = jwt.setExpirationTime(options.expiresIn);
  return jwt.sign(new TextEncoder().encode(secret));
}
