/**
 * Who is calling: HS256 bearer tokens (JWT_SECRET), the short-lived service credential the
 * platform's processes present to each other, and the checks each service method makes
 * (user, admin, service). docs/security.md, "Internal services and the service credential".
 *
 * The gateway, the modules and the composition root use this subsystem only through this file
 * (a dependency-cruiser rule); files inside the platform import each other directly.
 */
export { Authenticator } from "./authenticator.js";
export { keptJwtSecret, resolveJwtSecret } from "./jwt-secret.js";
export { mintToken } from "./mint-token.js";
export { type Principal, USER_ROLES, type UserRole } from "./principal.js";
export { ServiceCredential } from "./service-credential.js";
export { TokenVerifier } from "./token-verifier.js";
