/**
 * UUIDv7 (RFC 9562): a millisecond timestamp followed by random bits, so ids sort by creation
 * time, which keeps b-tree inserts local and makes id order a sensible default list order.
 */
import { randomFillSync } from "node:crypto";

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Random bytes drawn 4 KiB at a time: one call into the CSPRNG per 409 ids, not one per id. */
const RANDOM_POOL = new Uint8Array(4096);
/** Each id takes 10 random bytes (the 74 random bits and the bits the version and variant mask). */
const RANDOM_BYTES_PER_ID = 10;
let poolOffset = RANDOM_POOL.length;

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** The two hex digits of `byte` (0–255). */
function hex(byte: number): string {
  return HEX[byte] as string;
}

function randomByte(): number {
  return RANDOM_POOL[poolOffset++] as number;
}

export function uuidv7(now = Date.now()): string {
  if (poolOffset + RANDOM_BYTES_PER_ID > RANDOM_POOL.length) {
    randomFillSync(RANDOM_POOL);
    poolOffset = 0;
  }
  // 48-bit millisecond timestamp, big-endian: the high 16 bits, then the low 32.
  const high = Math.floor(now / 0x1_0000_0000);
  const low = now >>> 0;
  const timeHex =
    hex((high >>> 8) & 0xff) +
    hex(high & 0xff) +
    hex(low >>> 24) +
    hex((low >>> 16) & 0xff) +
    "-" +
    hex((low >>> 8) & 0xff) +
    hex(low & 0xff);
  const version = hex((randomByte() & 0x0f) | 0x70) + hex(randomByte());
  const variant = hex((randomByte() & 0x3f) | 0x80) + hex(randomByte());
  let node = "";
  for (let index = 0; index < 6; index++) node += hex(randomByte());
  return `${timeHex}-${version}-${variant}-${node}`;
}

/** True for any well-formed UUID; ids that fail this cannot exist, so lookups can answer at once. */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/**
 * The key a cache keeps a row named by `id` under: the UUID in lower case, as PostgreSQL stores and
 * returns it (it matches a UUID whatever its case, and writes invalidate the id as stored, so a key
 * in another case would never be invalidated); undefined for anything else, which names no row.
 */
export function uuidKey(id: string): string | undefined {
  return UUID_PATTERN.test(id) ? id.toLowerCase() : undefined;
}
