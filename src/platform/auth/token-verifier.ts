/**
 * Verifies HS256 bearer tokens. Verified tokens are remembered (bounded, until they expire) so a
 * client that sends the same token on every request pays for the HMAC once.
 */
import { createSecretKey, type KeyObject } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { MIN_SECRET_BYTES, secretTooShort } from "../config.js";
import { isMalformedText } from "../rpc/malformed-text.js";
import { verifyHs256Jwt } from "./hs256-jwt.js";
import { type Principal, ROLES, type Role } from "./principal.js";

const MAX_REMEMBERED = 10_000;
/** User ids are short; a longer `sub` is no user this platform knows. */
const MAX_SUBJECT_LENGTH = 256;

interface Remembered {
  principal: Principal;
  /** Epoch ms after which the token is no longer valid; Infinity without `exp`. */
  expiresAt: number;
}

export class TokenVerifier {
  private readonly key: KeyObject;
  private readonly remembered = new Map<string, Remembered>();

  constructor(secret: string) {
    // Configuration refuses short secrets, and so does this, wherever the secret came from.
    if (secretTooShort(secret)) {
      throw new RangeError(`the token secret must be at least ${MIN_SECRET_BYTES} bytes`);
    }
    this.key = createSecretKey(new TextEncoder().encode(secret));
  }

  /** Resolves to the token's principal; rejects with `unauthenticated` for any invalid token. */
  async verify(token: string): Promise<Principal> {
    const known = this.remembered.get(token);
    if (known !== undefined) {
      if (Date.now() < known.expiresAt) return known.principal;
      this.remembered.delete(token);
    }
    const outcome = verifyHs256Jwt(token, this.key, Math.floor(Date.now() / 1000));
    if ("refused" in outcome) {
      const reason = outcome.refused === "expired" ? "token has expired" : "token is not valid";
      throw new ConnectError(reason, Code.Unauthenticated);
    }
    const { sub, role, exp } = outcome.claims;
    if (typeof sub !== "string" || sub === "") {
      throw new ConnectError("token has no subject (sub)", Code.Unauthenticated);
    }
    // The subject becomes a user id stored and compared in the database.
    if (sub.length > MAX_SUBJECT_LENGTH || isMalformedText(sub)) {
      throw new ConnectError("token subject (sub) is not a valid user id", Code.Unauthenticated);
    }
    if (typeof role !== "string" || !ROLES.includes(role as Role)) {
      throw new ConnectError('token role must be "admin" or "customer"', Code.Unauthenticated);
    }
    // The service credential is short-lived by construction; one without an expiry was not minted
    // by the platform and would be good forever if it leaked.
    if (role === "service" && exp === undefined) {
      throw new ConnectError("token is not valid", Code.Unauthenticated);
    }
    const principal: Principal = Object.freeze({ userId: sub, role: role as Role });
    if (this.remembered.size >= MAX_REMEMBERED) this.remembered.clear();
    this.remembered.set(token, { principal, expiresAt: exp === undefined ? Infinity : exp * 1000 });
    return principal;
  }
}
