/**
 * The signed-in token. It arrives in the link `npm start` prints (`/admin#token=…`) or is pasted
 * into the sign-in form, and is kept in sessionStorage: it survives a reload, dies with the tab,
 * and the fragment that carried it is wiped from the address bar and history at once. A fragment
 * never reaches a server, so the token is not in any access log either.
 */

const KEY = "shop-admin-token";

/** The token from `#token=…` (stored, and removed from the URL), else the stored one. */
export function takeToken(): string | undefined {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (match?.[1] !== undefined) {
    const token = decodeURIComponent(match[1]);
    sessionStorage.setItem(KEY, token);
    history.replaceState(null, "", `${location.pathname}${location.search}#/products`);
    return token;
  }
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function keepToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}

/** The `sub` claim, for the header only: what the token may do is decided by the API. */
export function tokenSubject(token: string): string | undefined {
  try {
    const payload = token.split(".")[1] ?? "";
    const json = atob(payload.replaceAll("-", "+").replaceAll("_", "/"));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === "string" ? sub : undefined;
  } catch {
    return undefined;
  }
}
