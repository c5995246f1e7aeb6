/**
 * Hostile RPC requests generated from the services' descriptors (@bufbuild/protobuf reflection):
 * for every method, hostile values for every field of the input message (recursing into nested
 * messages and list elements), each sent over the Connect protocol as hand-written JSON and as
 * hand-encoded binary protobuf, plus malformed bodies (empty or broken JSON, garbage and truncated
 * bytes, unsupported content types and encodings); and, over gRPC, the string-field and garbage
 * cases.
 */
import { gzipSync } from "node:zlib";
import {
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromJson,
  type JsonValue,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { baseIdOf, type HostileFixtures, type IdUse, idKindOf, wrongKindIds } from "./hostile-fixtures.js";
import type { HostileCase } from "./hostile-runner.js";
import {
  deepArray,
  deepObject,
  garbageBytes,
  HOSTILE_DATE_TIMES,
  hostilePageTokens,
  hostileTexts,
  type JsonLike,
  jsonText,
  LONG_TEXT_LENGTH,
  RawJson,
  UNKNOWN_UUID,
} from "./hostile-values.js";

export interface RpcService {
  service: DescService;
  /** Only the platform's service credential may call it (docs/api.md, "Internal services"). */
  internal: boolean;
}

/** A hostile value with whether a correct decoder accepts it (only the value is hostile). */
interface Variant<T> {
  label: string;
  value: T;
  wellFormed: boolean;
}

const TIMESTAMP = "google.protobuf.Timestamp";

const UINT32_SCALARS = new Set([ScalarType.UINT32, ScalarType.FIXED32]);
const INT64_SCALARS = new Set([ScalarType.INT64, ScalarType.SINT64, ScalarType.SFIXED64]);
const UINT64_SCALARS = new Set([ScalarType.UINT64, ScalarType.FIXED64]);

function use(method: DescMethod): IdUse {
  if (method.name.startsWith("Delete")) return "delete";
  if (method.name === "UpdateProduct" || method.name === "CreateReview") return "write";
  return "read";
}

function isOptional(field: DescField): boolean {
  return field.proto.proto3Optional === true;
}

// ---- valid base messages, as proto3 JSON -------------------------------------------------------

function validScalar(
  field: DescField & { scalar: ScalarType },
  method: DescMethod,
  fixtures: HostileFixtures,
): JsonLike {
  if (field.scalar === ScalarType.STRING) {
    const kind = idKindOf(field.name, method.name);
    if (kind !== undefined) return baseIdOf(fixtures, kind, use(method));
    return field.name === "name" ? "hostile probe" : "x";
  }
  if (field.scalar === ScalarType.BOOL) return false;
  if (field.scalar === ScalarType.BYTES) return "";
  const number = field.name === "percent_off" ? 10 : field.name === "stock" ? 5 : 1;
  return INT64_SCALARS.has(field.scalar) || UINT64_SCALARS.has(field.scalar) ? String(number) : number;
}

function validMessage(
  desc: DescMessage,
  method: DescMethod,
  fixtures: HostileFixtures,
): Record<string, JsonLike> {
  const value: Record<string, JsonLike> = {};
  for (const field of desc.fields) {
    // Optional fields, paging and idempotency keys keep their defaults in a valid request.
    if (isOptional(field) || /^(page_size|page_token|idempotency_key)$/.test(field.name)) continue;
    const one = validField(field, method, fixtures);
    if (one !== undefined) value[field.jsonName] = one;
  }
  return value;
}

/** A valid value of a single field (or of one element, for lists). */
function validElement(field: DescField, method: DescMethod, fixtures: HostileFixtures): JsonLike {
  const message = field.message;
  if (message !== undefined) {
    if (message.typeName === TIMESTAMP)
      return field.name.startsWith("end") ? "2035-01-01T00:00:00Z" : "2025-01-01T00:00:00Z";
    return validMessage(message, method, fixtures);
  }
  if (field.enum !== undefined) return field.enum.values.find((value) => value.number !== 0)?.name ?? 0;
  return validScalar(field as DescField & { scalar: ScalarType }, method, fixtures);
}

function validField(field: DescField, method: DescMethod, fixtures: HostileFixtures): JsonLike | undefined {
  if (field.fieldKind === "map") return undefined;
  const element = validElement(field, method, fixtures);
  return field.fieldKind === "list" ? [element] : element;
}

// ---- hostile JSON values -----------------------------------------------------------------------

const v = <T>(label: string, value: T, wellFormed: boolean): Variant<T> => ({ label, value, wellFormed });

function jsonIntegerVariants(scalar: ScalarType): Variant<JsonLike>[] {
  const is64 = INT64_SCALARS.has(scalar) || UINT64_SCALARS.has(scalar);
  const unsigned = UINT32_SCALARS.has(scalar) || UINT64_SCALARS.has(scalar);
  const bits = is64 ? 64n : 32n;
  const max = unsigned ? 2n ** bits - 1n : 2n ** (bits - 1n) - 1n;
  const written = (value: bigint) => (is64 ? String(value) : Number(value));
  return [
    v("-1", -1, !unsigned),
    v(`max+1 (${max + 1n})`, written(max + 1n), false),
    v("1.5", 1.5, false),
    v("1e400", new RawJson("1e400"), false),
    v("a non-numeric string", "abc", false),
  ];
}

function jsonStringVariants(
  field: DescField,
  method: DescMethod,
  fixtures: HostileFixtures,
): Variant<JsonLike>[] {
  // NUL, a lone surrogate, very long (REST sends the rest of the hostile texts).
  const values: Variant<JsonLike>[] = hostileTexts()
    .filter((text) => /^(NUL \(|lone high|very long)/.test(text.label))
    // A lone surrogate is not Unicode text, so not a proto3 string: decoders may refuse it.
    .map((text) => ({ ...text, wellFormed: !/surrogate/.test(text.label) }));
  const kind = idKindOf(field.name, method.name);
  if (kind !== undefined) {
    for (const { label, id } of wrongKindIds(fixtures, kind).slice(0, 2)) values.push(v(label, id, true));
    values.push(v("an unknown uuid", UNKNOWN_UUID, true));
  }
  if (field.name === "page_token") {
    for (const token of hostilePageTokens(fixtures.productId)) values.push({ ...token, wellFormed: true });
  }
  values.push(v("a number", 1, false), v("an object", { $gt: "" }, false));
  return values;
}

function jsonEnumVariants(): Variant<JsonLike>[] {
  return [
    v("unknown number 999", 999, true),
    v("-1", -1, true),
    v("2**31 (past int32)", 2 ** 31, false),
    v("0 (UNSPECIFIED)", 0, true),
    v("unknown name", "ORDER_STATUS_NOPE", false),
    v("REST spelling (paid)", "paid", false),
    v("1.5", 1.5, false),
  ];
}

function jsonMessageVariants(message: DescMessage): Variant<JsonLike>[] {
  if (message.typeName === TIMESTAMP) {
    return [
      ...HOSTILE_DATE_TIMES.map((date) => ({
        label: `date: ${date.label}`,
        value: date.value as JsonLike,
        wellFormed: false,
      })),
      v("a number", 1, false),
      v("NUL", "\u0000", false),
    ];
  }
  return [
    v("a string", "x", false),
    v("an array", [], false),
    v("empty message", {}, true),
    v("deeply nested junk (5000 levels)", deepObject(5000), false),
  ];
}

/** Hostile JSON values of one field (for lists: of the whole list). */
function jsonFieldVariants(
  field: DescField,
  method: DescMethod,
  fixtures: HostileFixtures,
  base: JsonLike,
): Variant<JsonLike>[] {
  const element = field.fieldKind === "list" && Array.isArray(base) ? (base[0] ?? null) : base;
  let single: Variant<JsonLike>[];
  if (field.message !== undefined) single = jsonMessageVariants(field.message);
  else if (field.enum !== undefined) single = jsonEnumVariants();
  else if (field.scalar === ScalarType.STRING) single = jsonStringVariants(field, method, fixtures);
  else if (field.scalar === ScalarType.BOOL)
    single = [v('"true"', "true", false), v("1", 1, false), v("an object", {}, false)];
  else if (field.scalar === ScalarType.BYTES)
    single = [v("not base64", "!!!", false), v("a number", 1, false)];
  else single = jsonIntegerVariants(field.scalar as ScalarType);
  // null is the default in proto3 JSON: for a message field, an absent message.
  if (field.message !== undefined) single.push(v("null (the default)", null, true));
  if (field.fieldKind !== "list") return single;
  return [
    // One hostile element: the text ones (NUL, lone surrogates, very long) and a wrong type.
    ...single
      .filter(
        (one) => one.value !== null && /NUL|surrogate|long|a number|a string|date: year/.test(one.label),
      )
      .map((one) => ({ ...one, label: `[${one.label}]`, value: [one.value] })),
    v("empty list", [], true),
    v(
      "1000 elements",
      Array.from({ length: 1000 }, () => element),
      true,
    ),
    v("[null]", [null], false),
    v("not a list (an object)", {}, false),
    v("deeply nested junk (5000 levels)", deepArray(5000), false),
  ];
}

interface MessageVariant<T> {
  label: string;
  value: T;
  wellFormed: boolean;
}

/** One field at a time hostile, recursing into nested messages (not Timestamps) and list elements. */
function jsonMessageFieldVariants(
  desc: DescMessage,
  base: Record<string, JsonLike>,
  method: DescMethod,
  fixtures: HostileFixtures,
  path: string,
): MessageVariant<Record<string, JsonLike>>[] {
  const variants: MessageVariant<Record<string, JsonLike>>[] = [];
  for (const field of desc.fields) {
    if (field.fieldKind === "map") continue;
    const fieldPath = path === "" ? field.name : `${path}.${field.name}`;
    const fieldBase = base[field.jsonName] ?? validField(field, method, fixtures) ?? null;
    for (const variant of jsonFieldVariants(field, method, fixtures, fieldBase)) {
      variants.push({
        label: `${fieldPath} = ${variant.label}`,
        value: { ...base, [field.jsonName]: variant.value },
        wellFormed: variant.wellFormed,
      });
    }
    const nested = field.message;
    if (nested !== undefined && nested.typeName !== TIMESTAMP) {
      const list = field.fieldKind === "list";
      const element = (list ? (fieldBase as JsonLike[])[0] : fieldBase) as Record<string, JsonLike>;
      for (const inner of jsonMessageFieldVariants(
        nested,
        element ?? {},
        method,
        fixtures,
        list ? `${fieldPath}[0]` : fieldPath,
      )) {
        variants.push({
          label: inner.label,
          value: { ...base, [field.jsonName]: list ? [inner.value] : inner.value },
          wellFormed: inner.wellFormed,
        });
      }
    }
  }
  return variants;
}

// ---- hand-made protobuf binary -----------------------------------------------------------------

/** A varint of any unsigned 64-bit (or wider, to be malformed) value. */
function varint(value: bigint): Buffer {
  let rest = value < 0n ? value + 2n ** 64n : value;
  const bytes: number[] = [];
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0n);
  return Buffer.from(bytes);
}

const WIRE = { varint: 0, i64: 1, len: 2, startGroup: 3, endGroup: 4, i32: 5 } as const;
const tag = (fieldNo: number, wire: number) => varint(BigInt((fieldNo << 3) | wire));
const lengthDelimited = (fieldNo: number, payload: Buffer) =>
  Buffer.concat([tag(fieldNo, WIRE.len), varint(BigInt(payload.length)), payload]);

/** The wire type a field's values use (lists of scalars are sent unpacked, which parsers accept). */
function wireTypeOf(field: DescField): number {
  if (field.message !== undefined) return WIRE.len;
  if (field.enum !== undefined) return WIRE.varint;
  switch (field.scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WIRE.len;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WIRE.i64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WIRE.i32;
    default:
      return WIRE.varint;
  }
}

/** Hostile encodings of one field: complete field records (tag and payload), possibly several. */
function binaryFieldVariants(field: DescField, baseElement: Buffer | undefined): Variant<Buffer>[] {
  const no = field.number;
  const variants: Variant<Buffer>[] = [];
  if (field.message !== undefined) {
    variants.push(
      v("garbage bytes inside", lengthDelimited(no, Buffer.from([0xff, 0xff, 0xff, 0xff])), false),
      v("empty message", lengthDelimited(no, Buffer.alloc(0)), true),
    );
  } else if (field.scalar === ScalarType.STRING || field.scalar === ScalarType.BYTES) {
    const text = (label: string, bytes: Buffer | string, wellFormed: boolean) =>
      v(
        label,
        lengthDelimited(no, typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes),
        wellFormed,
      );
    variants.push(
      text("NUL byte", Buffer.from([0]), true),
      text(
        "lone surrogate as UTF-8 (ED A0 80)",
        Buffer.from([0xed, 0xa0, 0x80]),
        field.scalar === ScalarType.BYTES,
      ),
      text(`very long (${LONG_TEXT_LENGTH} bytes)`, "x".repeat(LONG_TEXT_LENGTH), true),
    );
  } else {
    const number = (label: string, value: bigint, wellFormed = true) =>
      v(label, Buffer.concat([tag(no, WIRE.varint), varint(value)]), wellFormed);
    variants.push(number("-1 (10-byte varint)", -1n), number("2**63-1", 2n ** 63n - 1n));
  }
  if (field.fieldKind === "list" && baseElement !== undefined) {
    variants.push(v("1000 elements", Buffer.concat(Array.from({ length: 1000 }, () => baseElement)), true));
  }
  return variants;
}

function toBinaryOf(desc: DescMessage, json: Record<string, JsonLike>): Buffer {
  // A Timestamp's JSON is a string; its fields (seconds = 1, nanos = 2) are written by hand here.
  if (desc.typeName === TIMESTAMP) {
    const parts: Buffer[] = [];
    if (json.seconds !== undefined) parts.push(tag(1, WIRE.varint), varint(BigInt(json.seconds as string)));
    if (json.nanos !== undefined) parts.push(tag(2, WIRE.varint), varint(BigInt(json.nanos as number)));
    return Buffer.concat(parts);
  }
  return Buffer.from(toBinary(desc, fromJson(desc, json as JsonValue)));
}

/** One field at a time hostile in binary, recursing into nested messages (Timestamps included). */
function binaryMessageFieldVariants(
  desc: DescMessage,
  base: Record<string, JsonLike>,
  method: DescMethod,
  fixtures: HostileFixtures,
  path: string,
): MessageVariant<Buffer>[] {
  const variants: MessageVariant<Buffer>[] = [];
  for (const field of desc.fields) {
    if (field.fieldKind === "map") continue;
    const fieldPath = path === "" ? field.name : `${path}.${field.name}`;
    const { [field.jsonName]: fieldBase, ...others } = base;
    const rest = toBinaryOf(desc, others);
    const value = fieldBase ?? validField(field, method, fixtures);
    const elementJson = field.fieldKind === "list" && Array.isArray(value) ? value[0] : value;
    // The base value of this field alone, as field records.
    const fieldBytes = (json: JsonLike | undefined) =>
      json === undefined ? Buffer.alloc(0) : toBinaryOf(desc, { [field.jsonName]: json });
    const baseElement =
      elementJson === undefined
        ? undefined
        : fieldBytes(field.fieldKind === "list" ? [elementJson] : elementJson);
    for (const variant of binaryFieldVariants(field, baseElement)) {
      variants.push({
        label: `${fieldPath} = ${variant.label}`,
        value: Buffer.concat([rest, variant.value]),
        wellFormed: variant.wellFormed,
      });
    }
    const nested = field.message;
    if (nested !== undefined) {
      // A Timestamp's fields start from a valid instant (2025-01-01), the others from the base.
      const nestedBase =
        nested.typeName === TIMESTAMP
          ? { seconds: "1735689600" }
          : ((elementJson ?? {}) as Record<string, JsonLike>);
      for (const inner of binaryMessageFieldVariants(
        nested,
        nestedBase,
        method,
        fixtures,
        field.fieldKind === "list" ? `${fieldPath}[0]` : fieldPath,
      )) {
        variants.push({
          label: inner.label,
          value: Buffer.concat([rest, lengthDelimited(field.number, inner.value)]),
          wellFormed: inner.wellFormed,
        });
      }
    }
  }
  return variants;
}

/** Whole-message binary hostility: garbage, truncation, bad tags, deep groups, unknown fields. */
function binaryMessageVariants(desc: DescMessage, base: Buffer): Variant<Buffer>[] {
  const first = desc.fields[0];
  const variants: Variant<Buffer>[] = [
    v("empty message", Buffer.alloc(0), true),
    v("16 garbage bytes", garbageBytes(16, 16), false),
    v(
      "10000 nested groups",
      Buffer.concat([
        ...Array.from({ length: 10_000 }, () => tag(99, WIRE.startGroup)),
        ...Array.from({ length: 10_000 }, () => tag(99, WIRE.endGroup)),
      ]),
      false,
    ),
    v("an unknown varint field", Buffer.concat([base, tag(99, WIRE.varint), varint(1n)]), true),
    v(
      "an 11-byte varint",
      Buffer.concat([base, tag(99, WIRE.varint), Buffer.alloc(10, 0xff), Buffer.from([0x01])]),
      false,
    ),
  ];
  // The wrong wire type for a field (a decoder check, the same for every field, so once per message).
  if (first !== undefined)
    variants.push(
      v(
        "the first field with a wire type it does not have",
        Buffer.concat([
          tag(first.number, wireTypeOf(first) === WIRE.len ? WIRE.i32 : WIRE.len),
          Buffer.from([0x7f, 0xff, 0xff, 0xff]),
        ]),
        false,
      ),
    );
  if (base.length > 1)
    variants.push(v("the valid message truncated", base.subarray(0, Math.ceil(base.length / 2)), false));
  return variants;
}

// ---- the generator -----------------------------------------------------------------------------

const CONNECT_JSON = { "content-type": "application/json", "connect-protocol-version": "1" };
const CONNECT_PROTO = { "content-type": "application/proto", "connect-protocol-version": "1" };

/** The Connect protocol's streaming content types: each message goes in an envelope. */
const CONNECT_STREAM_JSON = { "content-type": "application/connect+json", "connect-protocol-version": "1" };
const CONNECT_STREAM_PROTO = { "content-type": "application/connect+proto", "connect-protocol-version": "1" };

/** A Connect (or gRPC) envelope: flags, the length (big-endian), the message. */
function envelope(message: Buffer, flags = 0, length = message.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(length, 1);
  return Buffer.concat([head, message]);
}

export interface RpcCaseSet {
  cases: HostileCase[];
  /** `<package>.<Service>/<Method>` of every method generated for. */
  operations: string[];
}

/**
 * Every hostile Connect (JSON and binary) and gRPC case for every unary and server-streaming method
 * of `services` (streamCases for the latter).
 */
export function rpcCases(services: RpcService[], fixtures: HostileFixtures): RpcCaseSet {
  const cases: HostileCase[] = [];
  const operations: string[] = [];
  const bombJson = gzipSync(Buffer.from(`{"junk":"${" ".repeat(2 * 1024 * 1024)}"}`));
  for (const { service, internal } of services) {
    for (const method of service.methods) {
      if (method.methodKind === "server_streaming") {
        operations.push(`${service.typeName}/${method.name}`);
        cases.push(...streamCases(method, internal, fixtures));
        continue;
      }
      if (method.methodKind !== "unary") continue;
      const operation = `${service.typeName}/${method.name}`;
      operations.push(operation);
      const target = `/${operation}`;
      const add = (
        protocol: "connect" | "grpc",
        input: string,
        headers: Record<string, string>,
        body: Buffer,
        wellFormed: boolean,
      ) =>
        cases.push({
          protocol,
          operation,
          input,
          method: "POST",
          target,
          headers,
          body,
          internal,
          wellFormed,
        });
      const baseJson = validMessage(method.input, method, fixtures);
      const baseText = jsonText(baseJson);
      const baseBinary = toBinaryOf(method.input, baseJson);

      // Connect + JSON, one field at a time.
      for (const variant of jsonMessageFieldVariants(method.input, baseJson, method, fixtures, "")) {
        add(
          "connect",
          `json ${variant.label}`,
          CONNECT_JSON,
          Buffer.from(jsonText(variant.value)),
          variant.wellFormed,
        );
      }
      // Connect + JSON, the whole body.
      const withBase = (head: string) => `{${head}${baseText === "{}" ? "" : `,${baseText.slice(1, -1)}`}}`;
      const text = Buffer.from(baseText);
      const wholeBodies: [string, Record<string, string>, Buffer, boolean][] = [
        ["json body: empty body", CONNECT_JSON, Buffer.alloc(0), false],
        [
          "json body: an unknown field holding NUL",
          CONNECT_JSON,
          Buffer.from(withBase('"unknownField":"\\u0000"')),
          true,
        ],
        [
          "json body: __proto__ pollution",
          CONNECT_JSON,
          Buffer.from(withBase('"__proto__":{"polluted":true}')),
          false,
        ],
        [
          "json body: deeply nested junk (10000 levels)",
          CONNECT_JSON,
          Buffer.from(jsonText(deepArray(10_000))),
          false,
        ],
        [
          "json body: invalid UTF-8 bytes",
          CONNECT_JSON,
          Buffer.concat([
            Buffer.from('{"unknownField":"'),
            Buffer.from([0xff, 0xfe, 0xed, 0xa0, 0x80]),
            Buffer.from('"}'),
          ]),
          false,
        ],
        ["content-type: none", { "connect-protocol-version": "1" }, text, false],
        ["content-type: text/plain", { "content-type": "text/plain" }, text, false],
        ["content-type: application/proto with a JSON body", CONNECT_PROTO, text, false],
        [
          "header connect-timeout-ms: 11 digits",
          { ...CONNECT_JSON, "connect-timeout-ms": "12345678901" },
          text,
          false,
        ],
        [
          "header content-encoding: gzip of the valid body",
          { ...CONNECT_JSON, "content-encoding": "gzip" },
          gzipSync(text),
          true,
        ],
        [
          "header content-encoding: gzip, but not gzip",
          { ...CONNECT_JSON, "content-encoding": "gzip" },
          text,
          false,
        ],
      ];
      // A compression bomb (2 MiB inflated, past MAX_BODY_BYTES) on one method only: body limits
      // have a suite of their own (hostile-connections), and each bomb costs the server a megabyte.
      if (operations.length === 1)
        wholeBodies.push([
          "header content-encoding: gzip bomb (2 MiB inflated)",
          { ...CONNECT_JSON, "content-encoding": "gzip" },
          bombJson,
          false,
        ]);
      for (const [label, headers, body, wellFormed] of wholeBodies)
        add("connect", label, headers, body, wellFormed);

      // Connect + binary, one field at a time, then the whole message; gRPC for the string-field
      // cases and the whole-message ones.
      for (const variant of binaryMessageFieldVariants(method.input, baseJson, method, fixtures, "")) {
        add("connect", `proto ${variant.label}`, CONNECT_PROTO, variant.value, variant.wellFormed);
        if (/ = (NUL byte|lone surrogate|very long)/.test(variant.label))
          add("grpc", `proto ${variant.label}`, {}, variant.value, variant.wellFormed);
      }
      for (const variant of binaryMessageVariants(method.input, baseBinary)) {
        add("connect", `proto body: ${variant.label}`, CONNECT_PROTO, variant.value, variant.wellFormed);
        if (/empty|16 garbage|nested groups|truncated/.test(variant.label))
          add("grpc", `proto body: ${variant.label}`, {}, variant.value, variant.wellFormed);
      }
      add("grpc", "proto: the valid message", {}, baseBinary, true);
    }
  }
  return { cases, operations };
}

/**
 * The cases of a server-streaming method: its request in Connect's streaming envelopes (JSON and
 * binary), one field at a time and as a whole, broken envelopes (none at all, one longer than the
 * body, two requests where one is expected, a compressed flag with no compression), and over gRPC
 * the valid message and garbage. A stream that starts is cancelled after its first message.
 */
function streamCases(method: DescMethod, internal: boolean, fixtures: HostileFixtures): HostileCase[] {
  const operation = `${method.parent.typeName}/${method.name}`;
  const cases: HostileCase[] = [];
  const add = (
    protocol: "connect" | "grpc",
    input: string,
    headers: Record<string, string>,
    body: Buffer,
    wellFormed: boolean,
  ) =>
    cases.push({
      protocol,
      operation,
      input,
      method: "POST",
      target: `/${operation}`,
      headers,
      body,
      internal,
      wellFormed,
      serverStream: true,
    });
  const baseJson = validMessage(method.input, method, fixtures);
  const baseText = Buffer.from(jsonText(baseJson));
  const baseBinary = toBinaryOf(method.input, baseJson);
  const withUnknownNul = Buffer.from(
    `{"unknownField":"\\u0000"${baseText.length > 2 ? `,${baseText.subarray(1, -1).toString()}` : ""}}`,
  );

  for (const variant of jsonMessageFieldVariants(method.input, baseJson, method, fixtures, ""))
    add(
      "connect",
      `json ${variant.label}`,
      CONNECT_STREAM_JSON,
      envelope(Buffer.from(jsonText(variant.value))),
      variant.wellFormed,
    );
  const jsonBodies: [string, Buffer, boolean][] = [
    ["the valid message", envelope(baseText), true],
    ["an unknown field holding NUL", envelope(withUnknownNul), true],
    ["broken JSON", envelope(Buffer.from('{"')), false],
    ["no envelope at all (empty body)", Buffer.alloc(0), false],
    ["an envelope longer than the body", envelope(baseText, 0, 1_000), false],
    ["two requests where one is expected", Buffer.concat([envelope(baseText), envelope(baseText)]), false],
    ["the compressed flag, with no compression", envelope(baseText, 1), false],
  ];
  for (const [label, body, wellFormed] of jsonBodies)
    add("connect", `json stream body: ${label}`, CONNECT_STREAM_JSON, body, wellFormed);
  add(
    "connect",
    "json stream body: header connect-timeout-ms: 11 digits",
    { ...CONNECT_STREAM_JSON, "connect-timeout-ms": "12345678901" },
    envelope(baseText),
    false,
  );

  for (const variant of binaryMessageFieldVariants(method.input, baseJson, method, fixtures, ""))
    add(
      "connect",
      `proto ${variant.label}`,
      CONNECT_STREAM_PROTO,
      envelope(variant.value),
      variant.wellFormed,
    );
  for (const variant of binaryMessageVariants(method.input, baseBinary)) {
    add(
      "connect",
      `proto stream body: ${variant.label}`,
      CONNECT_STREAM_PROTO,
      envelope(variant.value),
      variant.wellFormed,
    );
    if (/empty|16 garbage|truncated/.test(variant.label))
      add("grpc", `proto stream body: ${variant.label}`, {}, variant.value, variant.wellFormed);
  }
  add("grpc", "proto stream: the valid message", {}, baseBinary, true);
  return cases;
}
