/**
 * The hostile values of the hostile-input sweep (test/hostile-input.test.ts): what a hostile or
 * careless client puts into text, numbers, ids, page tokens and JSON documents. Everything here is
 * deterministic: the few "random" bytes come from a PRNG with a fixed seed.
 */

/** mulberry32: a tiny PRNG with a fixed seed, so every run sends the same bytes. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` pseudo-random bytes from `seed`. */
export function garbageBytes(length: number, seed: number): Buffer {
  const next = seededRandom(seed);
  const bytes = Buffer.alloc(length);
  for (let index = 0; index < length; index++) bytes[index] = Math.floor(next() * 256);
  return bytes;
}

/**
 * A piece of JSON text written as-is where a value goes, for what JSON.stringify cannot write:
 * `1e400`, `-0`, `9007199254740993`, deeply nested junk.
 */
export class RawJson {
  constructor(readonly text: string) {}
}

/** A JSON-ish value of a hostile document: plain JSON values with {@link RawJson} anywhere. */
export type JsonLike = RawJson | string | number | boolean | null | JsonLike[] | { [key: string]: JsonLike };

/**
 * JSON text of `value`. Strings go through JSON.stringify, which writes U+0000 as the escape
 * `\u0000` and a lone surrogate as `\ud800` (well-formed JSON.stringify), exactly as a client would.
 */
export function jsonText(value: JsonLike): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .map(([key, item]) => `${JSON.stringify(key)}:${jsonText(item)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A labelled hostile value. */
export interface Hostile<T> {
  label: string;
  value: T;
}

const h = <T>(label: string, value: T): Hostile<T> => ({ label, value });

/** `[[[[…]]]]` nested `depth` deep: junk that recursive parsers and validators choke on. */
export const deepArray = (depth: number) => new RawJson(`${"[".repeat(depth)}${"]".repeat(depth)}`);
/** `{"a":{"a":…}}` nested `depth` deep. */
export const deepObject = (depth: number) => new RawJson(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`);

export const LONG_TEXT_LENGTH = 20_000;

/**
 * Text a hostile client sends in a JSON string field: NUL, lone surrogates (JSON.stringify writes
 * them as `\u0000` and `\ud800` escapes), very long text, odd Unicode, control characters and
 * injection attempts. `maxLength` adds the boundary cases of that limit.
 */
export function hostileTexts(maxLength?: number): Hostile<string>[] {
  const texts = [
    h("NUL (\\u0000)", "\u0000"),
    h("NUL inside text (a\\u0000b)", "a\u0000b"),
    h("lone high surrogate (\\ud800)", "\ud800"),
    h("lone low surrogate inside text (x\\udfffy)", "x\udfffy"),
    h(`very long (${LONG_TEXT_LENGTH} chars)`, "x".repeat(LONG_TEXT_LENGTH)),
    h("unicode (ünïcødé 🛒 ж 中文)", "ünïcødé 🛒 ж 中文"),
    h("empty", ""),
    h("injection (SQL, path, markup, template)", `' OR '1'='1'; -- ../../etc/passwd <script>\${7*7}{{7*7}}`),
  ];
  if (maxLength !== undefined) {
    texts.push(h(`maxLength+1 (${maxLength + 1}) chars`, "y".repeat(maxLength + 1)));
    texts.push(h(`maxLength (${maxLength}) astral code points`, "🛒".repeat(maxLength)));
  }
  return texts;
}

/** JSON values of the wrong type for a field of JSON type `type`. */
export function wrongTypes(type: string): Hostile<JsonLike>[] {
  const all: [string, Hostile<JsonLike>][] = [
    ["string", h("a string", "12")],
    ["number", h("a number", 12)],
    ["null", h("null", null)],
    ["object", h("an object", { $gt: "" })],
  ];
  return all
    .filter(([kind]) => kind !== type && !(type === "integer" && kind !== "null" && kind !== "object"))
    .map(([, v]) => v);
}

/**
 * Numbers a hostile client sends where an integer goes: out of every range, not integers, not
 * representable, written in odd but valid JSON. `minimum` / `maximum` add the boundary cases.
 */
export function hostileIntegers(minimum?: number, maximum?: number): Hostile<JsonLike>[] {
  const numbers: Hostile<JsonLike>[] = [
    h("-1", -1),
    h("1.5", 1.5),
    h("2**53+1 (not exact as a double)", new RawJson("9007199254740993")),
    h("1e10+1", 1e10 + 1),
    h("1e400 (overflows a double)", new RawJson("1e400")),
    h("2**31 (past int32)", 2 ** 31),
    h("2**63 (past int64)", new RawJson("9223372036854775808")),
    h("a numeric string", "1"),
    h("a non-numeric string", "abc"),
  ];
  if (minimum !== undefined) numbers.push(h(`minimum-1 (${minimum - 1})`, new RawJson(`${minimum - 1}`)));
  if (maximum !== undefined)
    numbers.push(h(`maximum+1 (${BigInt(maximum) + 1n})`, new RawJson(`${BigInt(maximum) + 1n}`)));
  return numbers;
}

/** Date-time text a hostile client sends: invalid, out of every calendar and database range. */
export const HOSTILE_DATE_TIMES: Hostile<string>[] = [
  h("not a date", "not-a-date"),
  h("month 13", "2025-13-01T00:00:00Z"),
  h("year 0", "0000-01-01T00:00:00Z"),
  h("year 275760 (the last JS date)", "+275760-09-13T00:00:00.000Z"),
  h("year 10000", "10000-01-01T00:00:00Z"),
  h("no zone", "2025-06-01T00:00:00"),
];

/** Enum text a hostile client sends: wrong case, padded, a proto name, unknown. */
export function hostileEnumTexts(values: string[]): Hostile<string>[] {
  const first = values[0] ?? "x";
  return [
    h("upper case", first.toUpperCase()),
    h("padded", ` ${first} `),
    h("unknown value", "refunded"),
    h("proto enum name", "ORDER_STATUS_PAID"),
    h("valid value with NUL", `${first}\u0000`),
    h("empty", ""),
  ];
}

/**
 * Page tokens a hostile client forges: not base64, base64 of non-JSON, and well-formed tokens (this
 * API's format is base64url of `{"k": key}`) whose key is hostile.
 */
export function hostilePageTokens(fixtureId: string): Hostile<string>[] {
  const token = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
  return [
    h("not base64", "!!!not-a-token!!!"),
    h("base64 of non-JSON", Buffer.from("garbage").toString("base64url")),
    h("token of {k: NUL}", token({ k: "\u0000" })),
    h("token of {k: lone surrogate}", token({ k: "\ud800" })),
    h("token of {k: 10000 chars}", token({ k: "k".repeat(10_000) })),
    h("token of {k: a number}", token({ k: 1 })),
    h("token of {k: fixture id}", token({ k: fixtureId })),
    h(
      "token of {k: year 275760 | uuid}",
      token({ k: "+275760-09-13T00:00:00.000Z|00000000-0000-7000-8000-000000000000" }),
    ),
    h(
      "token of {k: year -271821 | uuid}",
      token({ k: "-271821-04-20T00:00:00.000Z|0188a1a4-0000-7000-8000-000000000000" }),
    ),
    h("token of {k: year 0 | NUL}", token({ k: "0000-01-01T00:00:00.000Z|\u0000" })),
  ];
}

/** A well-formed id that no resource has. */
export const UNKNOWN_UUID = "00000000-0000-7000-8000-000000000000";
