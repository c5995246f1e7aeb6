/** Page tokens for newest-first lists: the (created_at, id) of the last item shown. */
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { isUuid } from "../ids.js";
import { decodePageToken, encodePageToken } from "./page-token.js";

export interface TimeCursor {
  createdAt: Date;
  id: string;
}

export function encodeTimeCursor(cursor: TimeCursor): string {
  return encodePageToken(`${cursor.createdAt.toISOString()}|${cursor.id}`);
}

/** The token after `item`, a message with a creation time and an id ("" without a time). */
export function timeCursorOf(item: { createdAt?: Timestamp; id: string }): string {
  return item.createdAt === undefined
    ? ""
    : encodeTimeCursor({ createdAt: timestampDate(item.createdAt), id: item.id });
}

/**
 * Times a token may carry: what this API issues (created_at of a row) lies well inside; a forged
 * token with a date PostgreSQL cannot hold (JavaScript dates reach year ±275760) is refused here
 * instead of failing in the query.
 */
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31);

/** The cursor in a page token, undefined for the first page; invalid_argument for a bad token. */
export function decodeTimeCursor(token: string): TimeCursor | undefined {
  const key = decodePageToken(token, (value) => {
    const [time, id] = value.split("|");
    if (time === undefined || id === undefined || !isUuid(id)) return false;
    const at = Date.parse(time);
    return at >= EARLIEST && at <= LATEST;
  });
  if (key === undefined) return undefined;
  const [time, id] = key.split("|") as [string, string];
  return { createdAt: new Date(time), id };
}
