/** Page tokens for newest-first lists: the (created_at, id) of the last item shown. */
import { isUuid } from "../ids.js";
import { decodePageToken, encodePageToken } from "./page-token.js";

export interface TimeCursor {
  createdAt: Date;
  id: string;
}

export function encodeTimeCursor(cursor: TimeCursor): string {
  return encodePageToken(`${cursor.createdAt.toISOString()}|${cursor.id}`);
}

/** The cursor in a page token, undefined for the first page; invalid_argument for a bad token. */
export function decodeTimeCursor(token: string): TimeCursor | undefined {
  const key = decodePageToken(token, (value) => {
    const [time, id] = value.split("|");
    return time !== undefined && id !== undefined && !Number.isNaN(Date.parse(time)) && isUuid(id);
  });
  if (key === undefined) return undefined;
  const [time, id] = key.split("|") as [string, string];
  return { createdAt: new Date(time), id };
}
