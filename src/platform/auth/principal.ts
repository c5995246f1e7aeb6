/** Who is calling, as proven by a verified bearer token. */
export type Role = "admin" | "customer";

export interface Principal {
  /** The token's `sub`: the user id. */
  readonly userId: string;
  readonly role: Role;
}

export const ROLES: readonly Role[] = ["admin", "customer"];
