/**
 * Tombstones and fill markers: the tokens a second-level store holds in place of a value, which
 * read as a miss and which a fill compares against (docs/cache-protocol.md, "Building blocks").
 * Every call returns a token that no other call, in this or any other process, returns.
 */
import { randomBytes } from "node:crypto";

/**
 * Tokens start with a NUL character, which no codec's text starts with in practice (JSON,
 * base64); then their kind, a random tag of this process and a counter.
 */
const TOMBSTONE_PREFIX = "\u0000tombstone:";
const MARKER_PREFIX = "\u0000marker:";
const processTag = randomBytes(9).toString("base64url");
let tokens = 0;

function newToken(prefix: string): string {
  tokens++;
  return `${prefix}${processTag}:${tokens.toString(36)}`;
}

/** A tombstone no other call (in this or another process) returns. */
export function newTombstone(): string {
  return newToken(TOMBSTONE_PREFIX);
}

/** A fill marker no other call (in this or another process) returns. */
export function newFillMarker(): string {
  return newToken(MARKER_PREFIX);
}

export function isTombstone(text: string): boolean {
  return text.startsWith(TOMBSTONE_PREFIX);
}

export function isFillMarker(text: string): boolean {
  return text.startsWith(MARKER_PREFIX);
}

/** A tombstone or a fill marker: reads as a miss. */
export function isToken(text: string): boolean {
  return isTombstone(text) || isFillMarker(text);
}
