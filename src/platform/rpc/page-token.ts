/**
 * Opaque keyset page tokens: the sort key of the last item of a page, base64url-encoded. Callers
 * must not parse them; a token that does not decode is an invalid_argument, not a 500.
 */
import { invalidArgument } from "./errors.js";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export function encodePageToken(lastKey: string): string {
  return Buffer.from(JSON.stringify({ k: lastKey }), "utf8").toString("base64url");
}

/** The key to continue after, or undefined for the first page. */
export function decodePageToken(token: string, isValidKey: (key: string) => boolean): string | undefined {
  if (token === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    const key = (parsed as { k?: unknown }).k;
    if (typeof key === "string" && isValidKey(key)) return key;
  } catch {
    // fall through to the error below
  }
  throw invalidArgument([{ field: "page_token", message: "is not a token this API issued" }]);
}

/** page_size 0 means the default; anything else must be 1–100. */
export function resolvePageSize(pageSize: number): number {
  if (pageSize === 0) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw invalidArgument([{ field: "page_size", message: `must be between 1 and ${MAX_PAGE_SIZE}` }]);
  }
  return pageSize;
}

/**
 * One page of a keyset-paged list: `query` is asked for one row more than `limit` (the extra row
 * says whether another page exists, without a count query); the page is the first `limit` rows,
 * and the next page's token is `tokenOf` its last row, or "" when there is no next page.
 */
export async function fetchPage<T>(
  limit: number,
  query: (rows: number) => Promise<readonly T[]>,
  tokenOf: (last: T) => string,
): Promise<{ items: T[]; nextPageToken: string }> {
  const rows = await query(limit + 1);
  const hasMore = rows.length > limit;
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextPageToken: hasMore && last !== undefined ? tokenOf(last) : "" };
}
