/** The REST shape of a product (snake_case, integer cents as JSON numbers, RFC 3339 times). */
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
