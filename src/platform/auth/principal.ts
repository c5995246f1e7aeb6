/** Who is calling, as proven by a verified bearer token. */

/** The roles of people: what docs/api.md's authorization table is written in. */
export type UserRole = "admin" | "customer";
/**
 * `service` is the platform's own processes calling each other's internal services: a credential
 * they mint from JWT_SECRET and never print (see ServiceCredential). It is no user.
 */
export type Role = UserRole | "service";

export interface Principal {
  /** The token's `sub`: the user id (for a service, which process called). */
  readonly userId: string;
  readonly role: Role;
}

/** A principal acting for a user: an admin or a customer. */
export interface UserPrincipal extends Principal {
  readonly role: UserRole;
}

export const USER_ROLES: readonly UserRole[] = ["admin", "customer"];
export const ROLES: readonly Role[] = [...USER_ROLES, "service"];
