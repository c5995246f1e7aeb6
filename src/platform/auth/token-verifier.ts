/**
 * Verifies HS256 bearer tokens. Verified tokens are remembered (bounded, until they expire) so a
 * client that sends the same token on every request pays for the HMAC once.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { errors, jwtVerify } from "jose";
import { isMalformedText } from "../rpc/malformed-text.js";
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
  private readonly key: Uint8Array;
  private readonly remembered = new Map<string, Remembered>();

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  /** Resolves to the token's principal; rejects with `unauthenticated` for any invalid token. */
  async verify(token: string): Promise<Principal> {
    const known = this.remembered.get(token);
    if (known !== undefined) {
      if (Date.now() < known.expiresAt) return known.principal;
      this.remembered.delete(token);
    }
    let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ["HS256"] }));
    } catch (error) {
      const reason = error instanceof errors.JWTExpired ? "token has expired" : "token is not valid";
      throw new ConnectError(reason, Code.Unauthenticated);
    }
    const { sub, role, exp } = payload;
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
