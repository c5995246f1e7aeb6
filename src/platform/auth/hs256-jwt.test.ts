/**
 * The synchronous HS256 verifier (hs256-jwt.ts) against jose's `jwtVerify`, which it replaces on
 * the request path: for crafted tokens of every kind the API must refuse, for edge cases of the
 * time claims, and for every one-character change to a valid token, both accept the same tokens,
 * and call the same ones expired.
 */
import { createHmac, createSecretKey } from "node:crypto";
import { errors, jwtVerify, SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { verifyHs256Jwt } from "./hs256-jwt.js";

const SECRET = "a-test-secret-that-is-long-enough-for-hs256";
const secretBytes = new TextEncoder().encode(SECRET);
const key = createSecretKey(secretBytes);
const NOW = 1_800_000_000;

type Verdict = "valid" | "expired" | "invalid";

async function joseVerdict(token: string): Promise<Verdict> {
  try {
    await jwtVerify(token, secretBytes, { algorithms: ["HS256"], currentDate: new Date(NOW * 1000) });
    return "valid";
  } catch (error) {
    return error instanceof errors.JWTExpired ? "expired" : "invalid";
  }
}

function ourVerdict(token: string): Verdict {
  const outcome = verifyHs256Jwt(token, key, NOW);
  return "claims" in outcome ? "valid" : outcome.refused;
}

/** A token with exactly this header and claims text, signed with `secret` (jose would not mint most of these). */
function signedRaw(header: string | Buffer, claims: string | Buffer, secret = SECRET): string {
  const signingInput = `${Buffer.from(header).toString("base64url")}.${Buffer.from(claims).toString("base64url")}`;
  return `${signingInput}.${createHmac("sha256", secret).update(signingInput).digest("base64url")}`;
}

const hs256 = JSON.stringify({ alg: "HS256", typ: "JWT" });
const claims = (fields: Record<string, unknown>) =>
  JSON.stringify({ sub: "customer-1", role: "customer", ...fields });

async function minted(
  fields: { exp?: number; nbf?: number; alg?: string; secret?: string } = {},
): Promise<string> {
  let jwt = new SignJWT({ role: "customer" })
    .setProtectedHeader({ alg: fields.alg ?? "HS256" })
    .setSubject("customer-1")
    .setIssuedAt(NOW - 10);
  if (fields.exp !== undefined) jwt = jwt.setExpirationTime(fields.exp);
  if (fields.nbf !== undefined) jwt = jwt.setNotBefore(fields.nbf);
  return jwt.sign(new TextEncoder().encode(fields.secret ?? SECRET));
}

describe("verifyHs256Jwt", () => {
  it("accepts a valid token and returns its claims", async () => {
    const outcome = verifyHs256Jwt(await minted({ exp: NOW + 60 }), key, NOW);
    expect(outcome).toEqual({
      claims: { role: "customer", sub: "customer-1", iat: NOW - 10, exp: NOW + 60 },
    });
  });

  it("judges crafted tokens and time edges as jose does", async () => {
    const valid = await minted({ exp: NOW + 3600 });
    const [header, , signature] = valid.split(".");
    const cases: [string, string, Verdict][] = [
      ["valid", valid, "valid"],
      ["no expiry", await minted(), "valid"],
      [
        "another secret",
        await minted({ exp: NOW + 60, secret: "another-secret-long-enough-for-the-hs256-key" }),
        "invalid",
      ],
      [
        "claims edited to admin",
        `${header}.${Buffer.from(claims({ role: "admin", exp: NOW + 60 })).toString("base64url")}.${signature}`,
        "invalid",
      ],
      ['alg "none"', new UnsecuredJWT({ role: "admin" }).setSubject("m").encode(), "invalid"],
      ["HS512 with the right secret", await minted({ alg: "HS512", exp: NOW + 60 }), "invalid"],
      ["HS384 with the right secret", await minted({ alg: "HS384", exp: NOW + 60 }), "invalid"],
      ["exp now", await minted({ exp: NOW }), "expired"],
      ["exp a second ago", await minted({ exp: NOW - 1 }), "expired"],
      ["exp in a second", await minted({ exp: NOW + 1 }), "valid"],
      ["nbf now", await minted({ nbf: NOW }), "valid"],
      ["nbf in a second", await minted({ nbf: NOW + 1 }), "invalid"],
      ["exp a string", signedRaw(hs256, claims({ exp: String(NOW + 60) })), "invalid"],
      ["nbf a string", signedRaw(hs256, claims({ nbf: "0" })), "invalid"],
      ["iat a string", signedRaw(hs256, claims({ iat: "yesterday" })), "invalid"],
      ["exp null", signedRaw(hs256, claims({ exp: null })), "invalid"],
      ["claims an array", signedRaw(hs256, "[1,2]"), "invalid"],
      ["claims null", signedRaw(hs256, "null"), "invalid"],
      ["claims not JSON", signedRaw(hs256, "{nope"), "invalid"],
      [
        "claims not UTF-8",
        signedRaw(hs256, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])),
        "invalid",
      ],
      ["header without alg", signedRaw(JSON.stringify({ typ: "JWT" }), claims({})), "invalid"],
      ['alg "hs256"', signedRaw(JSON.stringify({ alg: "hs256" }), claims({})), "invalid"],
      ["header an array", signedRaw("[]", claims({})), "invalid"],
      [
        "a crit extension",
        signedRaw(JSON.stringify({ alg: "HS256", crit: ["x"], x: 1 }), claims({})),
        "invalid",
      ],
      ["two segments", valid.split(".").slice(0, 2).join("."), "invalid"],
      ["four segments", `${valid}.${signature}`, "invalid"],
      ["an empty signature", `${valid.slice(0, valid.lastIndexOf("."))}.`, "invalid"],
      ["surrounding space", ` ${valid}`, "invalid"],
      ["empty", "", "invalid"],
      ["dots only", "..", "invalid"],
    ];
    for (const [name, token, expected] of cases) {
      expect({ name, jose: await joseVerdict(token) }).toEqual({ name, jose: expected });
      expect({ name, ours: ourVerdict(token) }).toEqual({ name, ours: expected });
    }
  });

  it("refuses base64 padding, which jose lets through (compact JWS segments carry none)", async () => {
    const padded = `${await minted({ exp: NOW + 60 })}=`;
    expect(await joseVerdict(padded)).toBe("valid");
    expect(ourVerdict(padded)).toBe("invalid");
  });

  it("agrees with jose on every one-character change to a valid token", async () => {
    const valid = await minted({ exp: NOW + 3600 });
    const replacements = ["A", "z", "0", "-", "_", ".", "=", "+", "/", " "];
    let compared = 0;
    for (let index = 0; index < valid.length; index++) {
      const variants = [valid.slice(0, index) + valid.slice(index + 1)];
      for (const replacement of replacements)
        if (valid[index] !== replacement)
          variants.push(valid.slice(0, index) + replacement + valid.slice(index + 1));
      for (const token of variants) {
        expect({ token, ours: ourVerdict(token) }).toEqual({ token, ours: await joseVerdict(token) });
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(valid.length * replacements.length * 0.8);
  });
});
