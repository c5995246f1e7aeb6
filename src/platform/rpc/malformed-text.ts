/**
 * Finds text PostgreSQL cannot store, or that is not text at all: a NUL character (U+0000) or an
 * unpaired UTF-16 surrogate, in any string of a request message, nested messages and lists
 * included. docs/api.md ("Limits", text): such a request is invalid_argument naming the field, on
 * every protocol, rather than a database error. Which fields hold strings is worked out once per
 * message type, so a check costs one regular expression per string present.
 */
import { type DescField, type DescMessage, type Message, ScalarType } from "@bufbuild/protobuf";

const MALFORMED = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `text` holds a NUL or an unpaired surrogate. */
export function isMalformedText(text: string): boolean {
  return MALFORMED.test(text);
}

type Check = (message: Record<string, unknown>) => string | undefined;

const checks = new WeakMap<DescMessage, Check>();

/** The proto name of the first field holding malformed text (e.g. `items[2].product_id`), if any. */
export function findMalformedText(schema: DescMessage, message: Message): string | undefined {
  return checkFor(schema)(message as unknown as Record<string, unknown>);
}

/** findMalformedText for one message type, worked out now rather than looked up on every call. */
export function compileMalformedTextCheck(schema: DescMessage): (message: unknown) => string | undefined {
  return checkFor(schema) as (message: unknown) => string | undefined;
}

function checkFor(schema: DescMessage): Check {
  let check = checks.get(schema);
  if (check === undefined) {
    // Placeholder first, so a message type that contains itself does not recurse forever.
    checks.set(schema, (message) => check?.(message));
    check = compile(schema);
    checks.set(schema, check);
  }
  return check;
}

function compile(schema: DescMessage): Check {
  const fieldChecks: Check[] = [];
  for (const field of schema.fields) {
    const value = field.oneof
      ? (message: Record<string, unknown>) => {
          const chosen = message[(field.oneof as NonNullable<DescField["oneof"]>).localName] as
            | { case?: string; value?: unknown }
            | undefined;
          return chosen?.case === field.localName ? chosen.value : undefined;
        }
      : (message: Record<string, unknown>) => message[field.localName];
    const check = fieldCheck(field, value);
    if (check !== undefined) fieldChecks.push(check);
  }
  if (fieldChecks.length === 0) return () => undefined;
  return (message) => {
    for (const check of fieldChecks) {
      const found = check(message);
      if (found !== undefined) return found;
    }
    return undefined;
  };
}

function fieldCheck(
  field: DescField,
  fieldValue: (message: Record<string, unknown>) => unknown,
): Check | undefined {
  const name = field.name;
  const text = (value: unknown, path: string) =>
    typeof value === "string" && MALFORMED.test(value) ? path : undefined;
  const nested = (schema: DescMessage, value: unknown, path: string) => {
    if (value === undefined || value === null) return undefined;
    const found = checkFor(schema)(value as Record<string, unknown>);
    return found === undefined ? undefined : `${path}.${found}`;
  };
  switch (field.fieldKind) {
    case "scalar":
      return field.scalar === ScalarType.STRING ? (message) => text(fieldValue(message), name) : undefined;
    case "message":
      if (!mayHoldText(field.message)) return undefined;
      return (message) => nested(field.message, fieldValue(message), name);
    case "list": {
      const each =
        field.listKind === "scalar" && field.scalar === ScalarType.STRING
          ? (item: unknown, index: number) => text(item, `${name}[${index}]`)
          : field.listKind === "message" && mayHoldText(field.message)
            ? (item: unknown, index: number) => nested(field.message, item, `${name}[${index}]`)
            : undefined;
      if (each === undefined) return undefined;
      return (message) => {
        const list = (fieldValue(message) as unknown[] | undefined) ?? [];
        for (let index = 0; index < list.length; index++) {
          const found = each(list[index], index);
          if (found !== undefined) return found;
        }
        return undefined;
      };
    }
    case "map":
      return (message) => {
        const map = (fieldValue(message) as Record<string, unknown> | undefined) ?? {};
        for (const [key, value] of Object.entries(map)) {
          if (MALFORMED.test(key)) return `${name}[${JSON.stringify(key.replace(MALFORMED, "?"))}]`;
          const found =
            field.mapKind === "scalar"
              ? text(value, `${name}[${key}]`)
              : field.mapKind === "message"
                ? nested(field.message, value, `${name}[${key}]`)
                : undefined;
          if (found !== undefined) return found;
        }
        return undefined;
      };
    default:
      return undefined;
  }
}

/** Well-known types such as Timestamp hold no text; anything else might, at any depth. */
function mayHoldText(schema: DescMessage): boolean {
  return !schema.typeName.startsWith("google.protobuf.") || schema.typeName === "google.protobuf.StringValue";
}
