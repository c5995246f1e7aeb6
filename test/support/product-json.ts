/**
 * The REST product as docs/api.md defines it, and checks of its wire format: exactly the documented
 * keys, integer money written as a plain JSON integer, RFC 3339 UTC times.
 */
import { expect } from "vitest";

export interface ProductJson {
  id: string;
  name: string;
  description: string;
  category: string;
  price_cents: number;
  stock: number;
  created_at: string;
  updated_at: string;
}

export interface ProductListJson {
  products: ProductJson[];
  next_page_token: string;
}

const PRODUCT_KEYS = [
  "category",
  "created_at",
  "description",
  "id",
  "name",
  "price_cents",
  "stock",
  "updated_at",
];
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Checks one product object: its keys, the type of every field, the time format. */
export function expectProductShape(product: unknown): asserts product is ProductJson {
  expect(product).toBeTypeOf("object");
  expect(Object.keys(product as object).sort()).toEqual(PRODUCT_KEYS);
  const value = product as ProductJson;
  expect(value.id).toBeTypeOf("string");
  expect(value.id).not.toBe("");
  expect(value.name).toBeTypeOf("string");
  expect(value.description).toBeTypeOf("string");
  expect(value.category).toBeTypeOf("string");
  expect(Number.isSafeInteger(value.price_cents), `price_cents ${value.price_cents}`).toBe(true);
  expect(Number.isSafeInteger(value.stock), `stock ${value.stock}`).toBe(true);
  expect(value.created_at).toMatch(RFC3339_UTC);
  expect(value.updated_at).toMatch(RFC3339_UTC);
}

/**
 * Every `*_cents` value in a JSON text is a plain integer literal (no fraction, no exponent, not
 * a string); fails when the text has none at all, so it cannot pass vacuously.
 */
export function expectIntegerMoneyInText(text: string): void {
  const values = [...text.matchAll(/"([a-z_]*_cents)"\s*:\s*([^,}\]\s]+)/g)];
  expect(values.length, `no *_cents field in ${text}`).toBeGreaterThan(0);
  for (const [, field, literal] of values)
    expect({ field, literal }).toEqual({ field, literal: expect.stringMatching(/^-?\d+$/) });
}
