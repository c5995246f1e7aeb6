/**
 * Request ids: the caller's `x-request-id` when it is sane (short, printable, no spaces), else a
 * new one. They tie a failure's log line to what the caller saw.
 */
import { randomUUID } from "node:crypto";

export const REQUEST_ID_HEADER = "x-request-id";

const SANE = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

function saneRequestId(value: string | null | undefined): string | undefined {
  return value !== null && value !== undefined && SANE.test(value) ? value : undefined;
}

export function requestIdFrom(value: string | null | undefined): string {
  return saneRequestId(value) ?? randomUUID();
}
