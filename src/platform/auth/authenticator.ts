/**
 * Authorization as the modules apply it: every service method asks the authenticator who is
 * calling, from the request's Authorization header, so a Connect or gRPC caller meets exactly the
 * rules a REST caller does (the gateway forwards the header unchanged).
 *
 * Public services serve users (admins and customers); the service credential grants nothing there
 * beyond what an anonymous caller may do. Internal services (StockService) serve only that
 * credential: an admin token is refused there, so a stolen admin token cannot take, confirm or
 * return stock behind the orders module's back.
 */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Principal, UserPrincipal } from "./principal.js";
import type { TokenVerifier } from "./token-verifier.js";

export class Authenticator {
  constructor(private readonly verifier: TokenVerifier) {}

  /** The caller, or undefined when no token was sent; rejects a token that is sent but invalid. */
  async identify(context: HandlerContext): Promise<Principal | undefined> {
    const header = context.requestHeader.get("authorization");
    if (header === null) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1] === undefined) {
      throw new ConnectError('authorization header must be "Bearer <token>"', Code.Unauthenticated);
    }
    return this.verifier.verify(match[1]);
  }

  /** The caller, who must be a user (admin or customer). */
  async requireUser(context: HandlerContext): Promise<UserPrincipal> {
    const principal = await this.identify(context);
    if (principal === undefined) throw new ConnectError("a bearer token is required", Code.Unauthenticated);
    if (principal.role === "service") {
      throw new ConnectError("the service credential does not act for a user", Code.PermissionDenied);
    }
    return principal as UserPrincipal;
  }

  /** The caller, who must be an admin. */
  async requireAdmin(context: HandlerContext): Promise<UserPrincipal> {
    const principal = await this.requireUser(context);
    if (principal.role !== "admin") {
      throw new ConnectError("this operation needs the admin role", Code.PermissionDenied);
    }
    return principal;
  }

  /** The caller, who must be one of the platform's own processes (an internal service method). */
  async requireService(context: HandlerContext): Promise<Principal> {
    const principal = await this.identify(context);
    if (principal === undefined) throw new ConnectError("a bearer token is required", Code.Unauthenticated);
    if (principal.role !== "service") {
      throw new ConnectError(
        "this is an internal service: only the platform's own processes may call it",
        Code.PermissionDenied,
      );
    }
    return principal;
  }
}
