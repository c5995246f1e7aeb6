/** The REST shape of discounts and discounted products (snake_case, integer cents, RFC 3339 times). */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Discount, DiscountedProduct } from "../gen/ecommerce/inventory/v1/discount_pb.js";
import { type ProductJson, productJson } from "./product-json.js";

export interface DiscountJson {
  id: string;
  name: string;
  description: string;
  percent_off: number;
  product_ids: string[];
  starts_at: string;
  ends_at: string;
  active: boolean;
  created_at: string;
}

export interface DiscountedProductJson extends ProductJson {
  percent_off: number;
  discounted_price_cents: number;
}

export function discountJson(discount: Discount): DiscountJson {
  return {
    id: discount.id,
    name: discount.name,
    description: discount.description,
    percent_off: discount.percentOff,
    product_ids: discount.productIds,
    starts_at: discount.startsAt ? timestampDate(discount.startsAt).toISOString() : "",
    ends_at: discount.endsAt ? timestampDate(discount.endsAt).toISOString() : "",
    active: discount.active,
    created_at: discount.createdAt ? timestampDate(discount.createdAt).toISOString() : "",
  };
}

export function discountedProductJson(item: DiscountedProduct): DiscountedProductJson {
  if (item.product === undefined) throw new Error("DiscountedProduct without its product");
  return {
    ...productJson(item.product),
    percent_off: item.percentOff,
    discounted_price_cents: Number(item.discountedPriceCents),
  };
}
