/** Conversion of stored discounts to the protobuf messages of the contract. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Discount,
  type DiscountedProduct,
  DiscountedProductSchema,
  DiscountSchema,
} from "../../gen/ecommerce/inventory/v1/discount_pb.js";
import { discountedPriceCents } from "./discount-price.js";
import type { ProductWithDiscount, StoredDiscount } from "./discount-store.js";

/** The discount as a reader at `now` sees it: `active` is whether it applies at that moment. */
export function discountFromStored(discount: StoredDiscount, now: Date): Discount {
  return create(DiscountSchema, {
    id: discount.id,
    name: discount.name,
    description: discount.description,
    percentOff: discount.percentOff,
    productIds: discount.productIds,
    startsAt: timestampFromDate(discount.startsAt),
    endsAt: timestampFromDate(discount.endsAt),
    active: discount.startsAt <= now && now < discount.endsAt,
    createdAt: timestampFromDate(discount.createdAt),
  });
}

export function discountedProductFrom({ product, percentOff }: ProductWithDiscount): DiscountedProduct {
  return create(DiscountedProductSchema, {
    product,
    percentOff,
    discountedPriceCents: discountedPriceCents(product.priceCents, percentOff),
  });
}
