/**
 * The REST shape of a product (snake_case, integer cents as JSON numbers, RFC 3339 times).
 * The serialized text is remembered per message object: cached products reach the gateway as the
 * same immutable object on every hit, so a warm read serializes nothing.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Product } from "../gen/ecommerce/inventory/v1/product_pb.js";

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

const serialized = new WeakMap<Product, string>();

export function productJson(product: Product): ProductJson {
  return {
    id: product.id,
    name: product.name,
    description: product.description,
    category: product.category,
    price_cents: Number(product.priceCents),
    stock: product.stock,
    created_at: product.createdAt ? timestampDate(product.createdAt).toISOString() : "",
    updated_at: product.updatedAt ? timestampDate(product.updatedAt).toISOString() : "",
  };
}

/** JSON text of one product, computed once per message object. */
export function productJsonText(product: Product): string {
  let text = serialized.get(product);
  if (text === undefined) {
    text = JSON.stringify(productJson(product));
    serialized.set(product, text);
  }
  return text;
}
