/**
 * Hostile REST requests generated from the app's own OpenAPI document: for every operation (path ×
 * method), hostile path ids, query values, request bodies (from the operation's schema) and
 * headers. Each case changes one thing of an otherwise valid request, so the hostile part is what
 * the server has to deal with.
 */
import { gzipSync } from "node:zlib";
import {
  baseIdOf,
  type HostileFixtures,
  type IdKind,
  type IdUse,
  idKindOf,
  resourceKind,
  wrongKindIds,
} from "./hostile-fixtures.js";
import type { Caller, HostileCase } from "./hostile-runner.js";
import {
  deepArray,
  deepObject,
  HOSTILE_DATE_TIMES,
  type Hostile,
  hostileEnumTexts,
  hostileIntegers,
  hostilePageTokens,
  hostileTexts,
  type JsonLike,
  jsonText,
  UNKNOWN_UUID,
  wrongTypes,
} from "./hostile-values.js";

/** The parts of OpenAPI 3.1 this generator reads. */
export interface OpenApiSchema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: string[];
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  example?: unknown;
  allOf?: OpenApiSchema[];
}

interface OpenApiParameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: OpenApiSchema;
}

interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { content?: Record<string, { schema?: OpenApiSchema }> };
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, OpenApiSchema> };
}

const METHODS = ["get", "put", "post", "delete", "patch"] as const;

/** Every operation of the document, as `METHOD /path`. */
export function openApiOperations(doc: OpenApiDocument): string[] {
  const operations: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) if (item[method]) operations.push(`${method.toUpperCase()} ${path}`);
  }
  return operations;
}

/** Hostile claims in correctly signed tokens: what the app trusts once the signature checks out. */
export interface HostileToken {
  label: string;
  token: string;
}

export interface RestSweepInput {
  doc: OpenApiDocument;
  fixtures: HostileFixtures;
  /** The default callers with a token (customer, admin, service), whose tokens get mangled. */
  tokenCallers: { name: string; token: string }[];
  /** Correctly signed tokens with hostile claims. */
  hostileTokens: HostileToken[];
}

function resolve(doc: OpenApiDocument, schema: OpenApiSchema | undefined): OpenApiSchema | undefined {
  if (schema === undefined) return undefined;
  if (schema.$ref !== undefined) {
    const name = schema.$ref.replace("#/components/schemas/", "");
    return resolve(doc, doc.components?.schemas?.[name]);
  }
  if (schema.allOf !== undefined) {
    const parts = schema.allOf.map((part) => resolve(doc, part) ?? {});
    return {
      type: "object",
      properties: Object.assign({}, ...parts.map((part) => part.properties ?? {})),
      required: parts.flatMap((part) => part.required ?? []),
    };
  }
  return schema;
}

/** A percent-encoded query or path value (RFC 3986 unreserved characters stay as they are). */
const encode = (value: string) => encodeURIComponent(value);

// ---- path ids ----------------------------------------------------------------------------------

/** Hostile path segments, already encoded as they go on the wire. */
function hostileSegments(fixtures: HostileFixtures, kind: IdKind | undefined, use: IdUse): Hostile<string>[] {
  const base = baseIdOf(fixtures, kind, use);
  const segments: Hostile<string>[] = [
    { label: "NUL (%00)", value: "%00" },
    { label: "the valid id followed by NUL", value: `${encode(base)}%00` },
    { label: "lone surrogate as UTF-8 (%ED%A0%80)", value: "%ED%A0%80" },
    { label: "invalid UTF-8 (%FF%FE)", value: "%FF%FE" },
    { label: "very long (8000 chars)", value: "x".repeat(8000) },
    { label: "longer than Node's header limit (20000 chars)", value: "x".repeat(20_000) },
    { label: "..", value: ".." },
    { label: "encoded traversal (..%2F..%2Fetc%2Fpasswd)", value: "..%2F..%2Fetc%2Fpasswd" },
    { label: "unicode (ü🛒)", value: encode("ü🛒") },
    { label: "an unknown uuid", value: UNKNOWN_UUID },
  ];
  // An upper-case spelling of a real id would name it: never for a deletion.
  if (use !== "delete" && kind !== undefined && kind !== "user")
    segments.push({ label: "the valid id in upper case", value: base.toUpperCase() });
  if (kind !== undefined) {
    for (const { label, id } of wrongKindIds(fixtures, kind)) segments.push({ label, value: encode(id) });
  }
  return segments;
}

// ---- query values ------------------------------------------------------------------------------

/** `name=value` query strings (possibly repeating `name`), already encoded. */
function hostileQueries(
  name: string,
  schema: OpenApiSchema | undefined,
  fixtures: HostileFixtures,
): Hostile<string>[] {
  const q = (label: string, value: string): Hostile<string> => ({ label, value: `${name}=${value}` });
  const queries: Hostile<string>[] = [
    q("NUL (%00)", "%00"),
    q("lone surrogate as UTF-8 (%ED%A0%80)", "%ED%A0%80"),
    q("invalid UTF-8 (%FF)", "%FF"),
    q("-1", "-1"),
    q("1.5", "1.5"),
    q("1e400", "1e400"),
    q("non-numeric", "abc"),
    q("empty", ""),
    q("very long (8000 chars)", "x".repeat(8000)),
    { label: "repeated, the second NUL", value: `${name}=1&${name}=%00` },
  ];
  if (schema?.enum) {
    for (const text of hostileEnumTexts(schema.enum))
      queries.push(q(`enum: ${text.label}`, encode(text.value)));
  }
  if (name === "page_token") {
    for (const token of hostilePageTokens(fixtures.productId))
      queries.push(q(token.label, encode(token.value)));
  }
  const kind = idKindOf(name);
  if (kind !== undefined) {
    for (const { label, id } of wrongKindIds(fixtures, kind)) queries.push(q(label, encode(id)));
  }
  return queries;
}

const UNKNOWN_QUERIES: Hostile<string>[] = [
  { label: "unknown parameter = NUL", value: "unknown=%00" },
  { label: "parameter name NUL", value: "%00=1" },
  { label: "unknown parameter, lone surrogate", value: "unknown=%ED%A0%80" },
];

// ---- bodies ------------------------------------------------------------------------------------

/** A valid value for a schema, with fixture ids where ids go. */
function validValue(
  doc: OpenApiDocument,
  schema: OpenApiSchema,
  name: string,
  fixtures: HostileFixtures,
  use: IdUse,
): JsonLike {
  const resolved = resolve(doc, schema) ?? {};
  switch (resolved.type) {
    case "object": {
      const value: Record<string, JsonLike> = {};
      for (const field of resolved.required ?? []) {
        const property = resolved.properties?.[field];
        if (property) value[field] = validValue(doc, property, field, fixtures, use);
      }
      return value;
    }
    case "array":
      return [validValue(doc, resolved.items ?? {}, name.replace(/s$/, ""), fixtures, use)];
    case "integer":
    case "number":
      if (typeof resolved.example === "number") return resolved.example;
      return Math.max(resolved.minimum ?? 1, 1);
    case "boolean":
      return true;
    default: {
      const kind = idKindOf(name);
      if (kind !== undefined) return baseIdOf(fixtures, kind, use === "write" ? "read" : use);
      if (resolved.enum) return resolved.enum[0] ?? "";
      if (resolved.format === "date-time")
        return name.startsWith("end") ? "2035-01-01T00:00:00Z" : "2025-01-01T00:00:00Z";
      if (typeof resolved.example === "string") return resolved.example;
      return "hostile probe";
    }
  }
}

/** Hostile values for one field of a body (its type's hostile values and wrong types). */
function hostileValues(
  doc: OpenApiDocument,
  schema: OpenApiSchema,
  name: string,
  base: JsonLike,
  fixtures: HostileFixtures,
): Hostile<JsonLike>[] {
  const resolved = resolve(doc, schema) ?? {};
  const values: Hostile<JsonLike>[] = [];
  switch (resolved.type) {
    case "integer":
    case "number":
      values.push(...hostileIntegers(resolved.minimum, resolved.maximum));
      break;
    case "boolean":
      values.push({ label: 'the string "true"', value: "true" }, { label: "1", value: 1 });
      break;
    case "array": {
      const element = Array.isArray(base) && base.length > 0 ? (base[0] as JsonLike) : "x";
      values.push(
        { label: "empty array", value: [] },
        { label: "1000 elements", value: Array.from({ length: 1000 }, () => element) },
        { label: "[null]", value: [null] },
        { label: 'a NUL element (["\\u0000"])', value: ["\u0000"] },
        { label: 'a lone-surrogate element (["\\ud800"])', value: ["\ud800"] },
        { label: "deeply nested junk (5000 levels)", value: deepArray(5000) },
      );
      if (resolved.maxItems !== undefined && resolved.maxItems !== 1000) {
        values.push({
          label: `maxItems+1 (${resolved.maxItems + 1}) elements`,
          value: Array.from({ length: resolved.maxItems + 1 }, () => element),
        });
      }
      break;
    }
    case "object":
      values.push(
        { label: "empty object", value: {} },
        { label: "deeply nested junk (5000 levels)", value: deepObject(5000) },
      );
      break;
    default: {
      const kind = idKindOf(name);
      const special = resolved.format === "date-time" || resolved.enum !== undefined || kind !== undefined;
      // Free text gets every hostile text; dates, enums and ids the ones that break storage (NUL,
      // lone surrogates, very long, unicode, empty) and hostile values of their own.
      const texts = hostileTexts(resolved.maxLength);
      values.push(
        ...(special
          ? texts.filter((text) => /^(NUL \(|lone|very long|unicode|empty)/.test(text.label))
          : texts),
      );
      if (resolved.format === "date-time")
        values.push(...HOSTILE_DATE_TIMES.map((d) => ({ ...d, label: `date: ${d.label}` })));
      if (resolved.enum)
        values.push(...hostileEnumTexts(resolved.enum).map((e) => ({ ...e, label: `enum: ${e.label}` })));
      if (kind !== undefined) {
        for (const { label, id } of wrongKindIds(fixtures, kind)) values.push({ label, value: id });
        values.push({ label: "an unknown uuid", value: UNKNOWN_UUID });
      }
    }
  }
  values.push(...wrongTypes(resolved.type ?? "string"));
  return values;
}

interface BodyVariant {
  label: string;
  body: JsonLike;
}

/** One field at a time made hostile, recursing into nested objects and array elements. */
function fieldVariants(
  doc: OpenApiDocument,
  schema: OpenApiSchema,
  base: Record<string, JsonLike>,
  path: string,
  fixtures: HostileFixtures,
  use: IdUse,
): BodyVariant[] {
  const resolved = resolve(doc, schema) ?? {};
  const variants: BodyVariant[] = [];
  for (const [name, property] of Object.entries(resolved.properties ?? {})) {
    const fieldPath = path === "" ? name : `${path}.${name}`;
    const fieldBase = base[name] ?? validValue(doc, property, name, fixtures, use);
    for (const hostile of hostileValues(doc, property, name, fieldBase, fixtures)) {
      variants.push({ label: `${fieldPath} = ${hostile.label}`, body: { ...base, [name]: hostile.value } });
    }
    const inner = resolve(doc, property) ?? {};
    if (
      inner.type === "object" &&
      typeof fieldBase === "object" &&
      fieldBase !== null &&
      !Array.isArray(fieldBase)
    ) {
      for (const nested of fieldVariants(
        doc,
        inner,
        fieldBase as Record<string, JsonLike>,
        fieldPath,
        fixtures,
        use,
      ))
        variants.push({ label: nested.label, body: { ...base, [name]: nested.body } });
    }
    const items = resolve(doc, inner.items);
    if (inner.type === "array" && items?.type === "object" && Array.isArray(fieldBase)) {
      const element = (fieldBase[0] ?? {}) as Record<string, JsonLike>;
      for (const nested of fieldVariants(doc, items, element, `${fieldPath}[0]`, fixtures, use))
        variants.push({ label: nested.label, body: { ...base, [name]: [nested.body] } });
    }
  }
  for (const name of resolved.required ?? []) {
    const { [name]: _, ...rest } = base;
    variants.push({ label: `${path === "" ? "" : `${path}.`}${name} missing (required)`, body: rest });
  }
  return variants;
}

/** Whole-body hostility: extra fields, junk, not JSON, bad encodings. Raw bytes when needed. */
function bodyLevelVariants(
  base: Record<string, JsonLike>,
  stringField: string | undefined,
): { label: string; body: Buffer }[] {
  const text = jsonText(base);
  const raw = (label: string, body: string | Buffer) => ({
    label,
    body: typeof body === "string" ? Buffer.from(body, "utf8") : body,
  });
  const json = (label: string, value: JsonLike) => raw(label, jsonText(value));
  const rest = Object.entries(base)
    .filter(([key]) => key !== stringField)
    .map(([key, value]) => `,${JSON.stringify(key)}:${jsonText(value)}`)
    .join("");
  const key = JSON.stringify(stringField ?? "junk");
  return [
    json("an unknown extra field", { ...base, unknown_field: 1 }),
    json("server-owned fields (id, created_at, verified_purchase)", {
      ...base,
      id: "forged",
      created_at: "2000-01-01T00:00:00Z",
      verified_purchase: true,
    }),
    raw(
      "__proto__ pollution",
      `{"__proto__":{"role":"admin","polluted":true}${text === "{}" ? "" : `,${text.slice(1, -1)}`}}`,
    ),
    json("an extra field of deeply nested junk (10000 levels)", { ...base, junk: deepArray(10_000) }),
    raw("empty body", ""),
    raw("not JSON", "not json"),
    raw("an unterminated object", "{"),
    raw("JSON followed by garbage", `${text}garbage`),
    raw("a JSON array", "[]"),
    raw("a UTF-8 BOM before the JSON", `\ufeff${text}`),
    raw(
      "a raw NUL byte inside a string (invalid JSON)",
      Buffer.concat([Buffer.from(`{${key}:"a`), Buffer.from([0]), Buffer.from(`b"${rest}}`)]),
    ),
    raw(
      "invalid UTF-8 bytes inside a string",
      Buffer.concat([
        Buffer.from(`{${key}:"`),
        Buffer.from([0xff, 0xfe, 0xed, 0xa0, 0x80, 0xc0, 0x80]),
        Buffer.from(`"${rest}}`),
      ]),
    ),
    raw("a duplicate key whose second value is NUL", `{${key}:"ok",${key}:"\\u0000"${rest}}`),
    raw("UTF-16LE with a BOM", Buffer.from(`\ufeff${text}`, "utf16le")),
  ];
}

const ODD_CONTENT_TYPES: Hostile<string | undefined>[] = [
  { label: "no content-type", value: undefined },
  { label: "text/plain", value: "text/plain" },
  { label: "application/x-www-form-urlencoded", value: "application/x-www-form-urlencoded" },
  { label: "charset=utf-16", value: "application/json; charset=utf-16" },
  { label: "charset=\\xff (a latin-1 byte)", value: "application/json; charset=\xff" },
  { label: "empty parameters (;;;)", value: "application/json;;;" },
];

// ---- headers -----------------------------------------------------------------------------------

const IDEMPOTENCY_KEYS: Hostile<string | string[]>[] = [
  { label: "empty", value: "" },
  { label: "blank", value: "   " },
  { label: "256 chars (past the 255 limit)", value: "k".repeat(256) },
  { label: "10000 chars", value: "k".repeat(10_000) },
  { label: "invalid UTF-8 bytes (ED A0 80)", value: "\xed\xa0\x80" },
  { label: "a latin-1 byte (0xFF)", value: "\xff" },
  { label: "UTF-8 bytes of ü🛒", value: Buffer.from("ü🛒").toString("latin1") },
  { label: "JSON escape text \\u0000", value: "\\u0000" },
  { label: "sent twice", value: ["first-key", "second-key"] },
];

function authorizationCallers(input: RestSweepInput): Caller[] {
  const callers: Caller[] = [];
  for (const { name, token } of input.tokenCallers) {
    callers.push({ name: `${name}: token + "x"`, authorization: `Bearer ${token}x` });
  }
  callers.push(
    { name: 'auth: "Bearer"', authorization: "Bearer" },
    { name: "auth: 10000-char token", authorization: `Bearer ${"a".repeat(10_000)}` },
  );
  for (const { label, token } of input.hostileTokens)
    callers.push({ name: `signed token: ${label}`, authorization: `Bearer ${token}` });
  return callers;
}

// ---- the generator -----------------------------------------------------------------------------

/** Every hostile REST case for every operation of the document. */
export function restCases(input: RestSweepInput): HostileCase[] {
  const { doc, fixtures } = input;
  const cases: HostileCase[] = [];
  const authCallers = authorizationCallers(input);
  const bomb = gzipSync(Buffer.from(`{"junk":"${" ".repeat(2 * 1024 * 1024)}"}`));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const operation = `${method.toUpperCase()} ${path}`;
      const use: IdUse =
        method === "delete"
          ? "delete"
          : (method === "put" || method === "patch") && path.startsWith("/products/")
            ? "write"
            : method === "post" && path.endsWith("/reviews")
              ? "write"
              : "read";
      const parameters = op.parameters ?? [];
      const pathParams = parameters.filter((p) => p.in === "path");
      const queryParams = parameters.filter((p) => p.in === "query");
      const bodySchema = resolve(doc, op.requestBody?.content?.["application/json"]?.schema);
      const kindOf = (name: string) => {
        const segments = path.split("/");
        const before = segments[segments.indexOf(`{${name}}`) - 1] ?? "";
        return idKindOf(name, before) ?? resourceKind(before);
      };
      const basePath: Record<string, string> = {};
      for (const p of pathParams) basePath[p.name] = encode(baseIdOf(fixtures, kindOf(p.name), use));
      const target = (params: Record<string, string> = {}, query?: string) => {
        const filled = path.replace(
          /\{([^}]+)\}/g,
          (_, name: string) => params[name] ?? basePath[name] ?? "x",
        );
        return query === undefined ? filled : `${filled}?${query}`;
      };
      const baseBody = bodySchema
        ? (validValue(doc, bodySchema, "", fixtures, use) as Record<string, JsonLike>)
        : undefined;
      const baseBodyBytes = baseBody ? Buffer.from(jsonText(baseBody)) : undefined;
      const jsonHeaders: Record<string, string> = baseBody ? { "content-type": "application/json" } : {};
      const add = (hostile: string, request: Partial<HostileCase>) =>
        cases.push({
          protocol: "rest",
          operation,
          input: hostile,
          method: method.toUpperCase(),
          target: target(),
          headers: jsonHeaders,
          body: baseBodyBytes,
          ...request,
        });

      for (const p of pathParams) {
        for (const segment of hostileSegments(fixtures, kindOf(p.name), use))
          add(`path ${p.name} = ${segment.label}`, { target: target({ [p.name]: segment.value }) });
      }
      for (const p of queryParams) {
        for (const query of hostileQueries(p.name, resolve(doc, p.schema), fixtures))
          add(`query ${p.name}: ${query.label}`, { target: target({}, query.value) });
      }
      for (const query of UNKNOWN_QUERIES) add(`query: ${query.label}`, { target: target({}, query.value) });

      if (bodySchema && baseBody) {
        for (const variant of fieldVariants(doc, bodySchema, baseBody, "", fixtures, use))
          add(`body.${variant.label}`, { body: Buffer.from(jsonText(variant.body)) });
        const stringField = Object.entries(bodySchema.properties ?? {}).find(
          ([, schema]) => resolve(doc, schema)?.type === "string",
        )?.[0];
        for (const variant of bodyLevelVariants(baseBody, stringField))
          add(`body: ${variant.label}`, { body: variant.body });
        for (const contentType of ODD_CONTENT_TYPES) {
          const headers: Record<string, string> =
            contentType.value === undefined ? {} : { "content-type": contentType.value };
          add(`content-type: ${contentType.label}`, { headers });
        }
        add("content-encoding: gzip of the valid body", {
          headers: { ...jsonHeaders, "content-encoding": "gzip" },
          body: gzipSync(baseBodyBytes ?? Buffer.alloc(0)),
        });
        add("content-encoding: gzip, but the body is not gzip", {
          headers: { ...jsonHeaders, "content-encoding": "gzip" },
        });
        add("content-encoding: gzip bomb (2 MiB inflated, past MAX_BODY_BYTES)", {
          headers: { ...jsonHeaders, "content-encoding": "gzip" },
          body: bomb,
        });
        add("content-encoding: unknown", { headers: { ...jsonHeaders, "content-encoding": "klingon" } });
      } else if (method !== "get") {
        add("an unexpected JSON body", {
          headers: { "content-type": "application/json" },
          body: Buffer.from('{"x":"\\u0000"}'),
        });
      } else {
        add("a body on a GET", {
          headers: { "content-type": "application/json" },
          body: Buffer.from("not json"),
        });
      }

      if (
        parameters.some((p) => p.in === "header" && p.name.toLowerCase() === "idempotency-key") ||
        method === "post"
      ) {
        for (const key of IDEMPOTENCY_KEYS)
          add(`header Idempotency-Key: ${key.label}`, {
            headers: { ...jsonHeaders, "idempotency-key": key.value },
          });
        add("header Idempotency-Key reused with another body (first)", {
          headers: { ...jsonHeaders, "idempotency-key": "hostile-reused-key" },
        });
        if (baseBody)
          add("header Idempotency-Key reused with another body (second)", {
            headers: { ...jsonHeaders, "idempotency-key": "hostile-reused-key" },
            body: Buffer.from(jsonText({ ...baseBody, unknown_field: 2 })),
          });
      }
      add("header x-request-id: 10000 chars", {
        headers: { ...jsonHeaders, "x-request-id": "r".repeat(10_000) },
      });
      add("header traceparent: malformed", { headers: { ...jsonHeaders, traceparent: "00-zz-zz-01" } });
      add("header Authorization: malformed or hostile", { callers: authCallers });
    }
  }
  return cases;
}
