/** Conversion of stored product rows to the protobuf Product of the contract. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Product, ProductSchema } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import type { ProductRow } from "./schema.js";

export function productFromRow(row: ProductRow): Product {
  return create(ProductSchema, {
    id: row.id,
    name: row.name,
    description: row.description,
    category: row.category,
    priceCents: row.priceCents,
    stock: row.stock,
    createdAt: timestampFromDate(row.createdAt),
    updatedAt: timestampFromDate(row.updatedAt),
  });
}
