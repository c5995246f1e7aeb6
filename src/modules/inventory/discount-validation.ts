/**
 * The rules for discounts, enforced inside the module so REST and Connect callers meet the same
 * ones. Every violation is reported at once, with the REST field name.
 */
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import type { CreateDiscountRequest } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { isUuid } from "../../platform/ids.js";
import { Violations } from "../../platform/rpc/index.js";
import type { NewDiscount } from "./discount-store.js";

export const DISCOUNT_NAME_MAX = 200;
export const DISCOUNT_DESCRIPTION_MAX = 5000;
export const PERCENT_OFF_MIN = 1;
export const PERCENT_OFF_MAX = 100;
export const DISCOUNT_PRODUCTS_MAX = 1000;
/** RFC 3339 years are four digits; PostgreSQL stores every time in this range. */
const TIME_MIN = new Date("0001-01-01T00:00:00.000Z").getTime();
const TIME_MAX = new Date("9999-12-31T23:59:59.999Z").getTime();

export function validateNewDiscount(request: CreateDiscountRequest): NewDiscount {
  const violations = new Violations();
  violations.text("name", request.name, DISCOUNT_NAME_MAX, { required: true });
  violations.text("description", request.description, DISCOUNT_DESCRIPTION_MAX, { required: false });
  violations.range("percent_off", request.percentOff, PERCENT_OFF_MIN, PERCENT_OFF_MAX);

  const productIds = [...new Set(request.productIds.map((id) => id.toLowerCase()))];
  const notUuid = request.productIds.find((id) => !isUuid(id));
  if (request.productIds.length === 0) violations.add("product_ids", "must name at least one product");
  else if (request.productIds.length > DISCOUNT_PRODUCTS_MAX)
    violations.add("product_ids", `must name at most ${DISCOUNT_PRODUCTS_MAX} products`);
  else if (notUuid !== undefined) violations.add("product_ids", `"${notUuid}" is not a product id`);

  const startsAt = checkTime(violations, "starts_at", request.startsAt);
  const endsAt = checkTime(violations, "ends_at", request.endsAt);
  if (startsAt !== undefined && endsAt !== undefined && endsAt <= startsAt)
    violations.add("ends_at", "must be after starts_at");
  violations.throwIfAny();
  return {
    name: request.name.trim(),
    description: request.description,
    percentOff: request.percentOff,
    productIds,
    startsAt: startsAt as Date,
    endsAt: endsAt as Date,
  };
}

/** The time to the millisecond (as stored), or undefined after recording why it is unusable. */
function checkTime(violations: Violations, field: string, value: Timestamp | undefined): Date | undefined {
  if (value === undefined) {
    violations.add(field, "is required");
    return undefined;
  }
  const date = timestampDate(value);
  const time = date.getTime();
  if (Number.isNaN(time) || time < TIME_MIN || time > TIME_MAX) {
    violations.add(field, "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z");
    return undefined;
  }
  return date;
}
