/**
 * The credential processes present to each other's internal services: a JWT with role `service`,
 * minted here from JWT_SECRET, valid for a few minutes and renewed well before it expires. It is
 * never printed or logged; a leaked one is worth little for long.
 */
import { mintToken } from "./mint-token.js";

export interface ServiceCredentialOptions {
  /** Who calls, recorded as the token's `sub` (e.g. "orders"). */
  caller: string;
  /** How long one token is valid. Default 5 minutes. */
  lifetimeMs?: number;
  now?: () => number;
}

export class ServiceCredential {
  private readonly lifetimeMs: number;
  private readonly now: () => number;
  private current: { header: string; mintedAt: number } | undefined;
  private minting: Promise<string> | undefined;

  constructor(
    private readonly secret: string,
    private readonly options: ServiceCredentialOptions,
  ) {
    this.lifetimeMs = options.lifetimeMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** The Authorization header value: the current token, or a new one once half its life is gone. */
  authorization(): Promise<string> {
    const current = this.current;
    if (current !== undefined && this.now() - current.mintedAt < this.lifetimeMs / 2) {
      return Promise.resolve(current.header);
    }
    this.minting ??= this.mint().finally(() => {
      this.minting = undefined;
    });
    return this.minting;
  }

  private async mint(): Promise<string> {
    const mintedAt = this.now();
    const token = await mintToken(this.secret, {
      sub: `service:${this.options.caller}`,
      role: "service",
      expiresIn: `${Math.ceil(this.lifetimeMs / 1000)}s`,
    });
    const header = `Bearer ${token}`;
    this.current = { header, mintedAt };
    return header;
  }
}
