/**
 * Bearer tokens that docs/api.md says must be refused with 401 / Unauthenticated, minted with jose
 * directly (not with the app's own minting code) so the app's verifier is tested, not trusted.
 */
import { SignJWT, UnsecuredJWT } from "jose";
import { TEST_SECRET } from "./test-app.js";

const key = (secret: string) => new TextEncoder().encode(secret);
const inOneHour = () => Math.floor(Date.now() / 1000) + 3600;

export interface InvalidCredential {
  name: string;
  /** The whole Authorization header value. */
  header: string;
}

/** Every kind of credential the API must refuse, each with a description for test names. */
export async function invalidCredentials(): Promise<InvalidCredential[]> {
  const customerToken = await new SignJWT({ role: "customer" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("customer-1")
    .setExpirationTime(inOneHour())
    .sign(key(TEST_SECRET));
  const [header, , signature] = customerToken.split(".");
  const promotedPayload = Buffer.from(
    JSON.stringify({ sub: "customer-1", role: "admin", exp: inOneHour() }),
  ).toString("base64url");
  const tokens: [string, string][] = [
    [
      "a bad signature (another secret)",
      await new SignJWT({ role: "admin" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("mallory")
        .setExpirationTime(inOneHour())
        .sign(key("some-other-secret-that-is-long-enough-for-hs256")),
    ],
    ["a customer token whose payload was edited to role admin", `${header}.${promotedPayload}.${signature}`],
    [
      'alg "none"',
      new UnsecuredJWT({ role: "admin" }).setSubject("mallory").setExpirationTime(inOneHour()).encode(),
    ],
    [
      "another algorithm (HS512 with the right secret)",
      await new SignJWT({ role: "admin" })
        .setProtectedHeader({ alg: "HS512" })
        .setSubject("admin-1")
        .setExpirationTime(inOneHour())
        .sign(key(TEST_SECRET)),
    ],
    [
      "an expired token",
      await new SignJWT({ role: "admin" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("admin-1")
        .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
        .sign(key(TEST_SECRET)),
    ],
    [
      "a token without sub",
      await new SignJWT({ role: "admin" })
        .setProtectedHeader({ alg: "HS256" })
        .setExpirationTime(inOneHour())
        .sign(key(TEST_SECRET)),
    ],
    [
      "a token with an unknown role",
      await new SignJWT({ role: "superuser" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("admin-1")
        .setExpirationTime(inOneHour())
        .sign(key(TEST_SECRET)),
    ],
    [
      "a token without role",
      await new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("admin-1")
        .setExpirationTime(inOneHour())
        .sign(key(TEST_SECRET)),
    ],
    ["a string that is not a JWT", "not-a-jwt"],
  ];
  return [
    ...tokens.map(([name, token]) => ({ name, header: `Bearer ${token}` })),
    {
      name: "a Basic authorization header",
      header: `Basic ${Buffer.from("admin:admin").toString("base64")}`,
    },
  ];
}
