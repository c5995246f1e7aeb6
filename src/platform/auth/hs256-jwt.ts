/**
 * Verifies an HS256 JWT in compact form synchronously with node:crypto, checking what jose's
 * `jwtVerify(token, key, { algorithms: ["HS256"] })` checks: three base64url segments, a header
 * object whose `alg` is HS256 (and no `crit`/`b64` extension), the HMAC-SHA256 signature (compared
 * in constant time), a claims set that is a JSON object, and `exp`, `nbf` and `iat` numeric when
 * present, with the token expired once `exp` is not after now and not yet valid while `nbf` is.
 * One thing it refuses that jose lets through: base64 padding (`=`), which compact JWS never has.
 *
 * Why not jose: it runs on WebCrypto, which imports the key and queues the HMAC on libuv's thread
 * pool for every call: ~85-95 µs of CPU per token against ~8 µs here (BENCHMARKS.md, "A token
 * checked without WebCrypto"). Every order with a customer's first token paid it. Minting stays
 * with jose (mint-token.ts), and the tests mint with jose, so both sides are checked against it.
 */
import { createHmac, type KeyObject, timingSafeEqual } from "node:crypto";

/** A segment of base64url text, without padding (what JWS compact serialization uses). */
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Text that is not UTF-8 is refused, not repaired (as jose does for the claims). */
const UTF8 = new TextDecoder("utf-8", { fatal: true });
/** HMAC-SHA256's length in bytes. */
const SIGNATURE_BYTES = 32;

/** A verified token's claims; the registered times are numbers when present. */
export type JwtClaims = Readonly<Record<string, unknown> & { exp?: number; nbf?: number; iat?: number }>;

export type Hs256Outcome = { readonly claims: JwtClaims } | { readonly refused: "expired" | "invalid" };

const INVALID: Hs256Outcome = Object.freeze({ refused: "invalid" as const });
const EXPIRED: Hs256Outcome = Object.freeze({ refused: "expired" as const });

/** `nowSeconds`: the current time in whole seconds since the epoch, as jose counts it. */
export function verifyHs256Jwt(token: string, key: KeyObject, nowSeconds: number): Hs256Outcome {
  const first = token.indexOf(".");
  const second = first === -1 ? -1 : token.indexOf(".", first + 1);
  if (second === -1 || token.indexOf(".", second + 1) !== -1) return INVALID;
  const headerText = token.slice(0, first);
  const claimsText = token.slice(first + 1, second);
  const signatureText = token.slice(second + 1);
  if (!BASE64URL.test(headerText) || !BASE64URL.test(claimsText) || !BASE64URL.test(signatureText))
    return INVALID;

  const header = jsonObject(headerText);
  if (header === undefined || header.alg !== "HS256" || "crit" in header || "b64" in header) return INVALID;

  const signature = Buffer.from(signatureText, "base64url");
  const expected = createHmac("sha256", key).update(token.slice(0, second)).digest();
  if (signature.length !== SIGNATURE_BYTES || !timingSafeEqual(signature, expected)) return INVALID;

  const claims = jsonObject(claimsText);
  if (claims === undefined) return INVALID;
  const { exp, nbf, iat } = claims;
  if (!numericWhenPresent(exp) || !numericWhenPresent(nbf) || !numericWhenPresent(iat)) return INVALID;
  if (nbf !== undefined && (nbf as number) > nowSeconds) return INVALID;
  if (exp !== undefined && (exp as number) <= nowSeconds) return EXPIRED;
  return { claims: claims as JwtClaims };
}

/** The JSON object a base64url segment holds, else undefined (not JSON, or not an object). */
function jsonObject(segment: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(UTF8.decode(Buffer.from(segment, "base64url")));
  } catch {
    return undefined;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function numericWhenPresent(value: unknown): boolean {
  return value === undefined || (typeof value === "number" && Number.isFinite(value));
}
