/** CreateOrder's input rules, enforced in the module for every caller. */
import type { CreateOrderRequest } from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import { isUuid } from "../../platform/ids.js";
import { echo, notFound, Violations } from "../../platform/rpc/index.js";

export const MAX_LINES = 100;
export const MAX_QUANTITY = 1000;
export const IDEMPOTENCY_KEY_MAX = 255;

export interface OrderLine {
  productId: string;
  quantity: number;
}

/** The lines merged per product, in product id order; throws for bad input. */
export function validateCreateOrder(request: CreateOrderRequest): OrderLine[] {
  const violations = new Violations();
  if (request.items.length < 1 || request.items.length > MAX_LINES) {
    violations.add("items", `must have between 1 and ${MAX_LINES} lines`);
  }
  request.items.forEach((item, index) => {
    violations.range(`items[${index}].quantity`, item.quantity, 1, MAX_QUANTITY);
  });
  if (request.idempotencyKey.length > IDEMPOTENCY_KEY_MAX) {
    violations.add("idempotency_key", `must be at most ${IDEMPOTENCY_KEY_MAX} characters`);
  }
  const merged = new Map<string, number>();
  for (const item of request.items)
    merged.set(item.productId, (merged.get(item.productId) ?? 0) + item.quantity);
  for (const [productId, quantity] of merged) {
    if (quantity > MAX_QUANTITY && request.items.filter((item) => item.productId === productId).length > 1) {
      violations.add(
        "items",
        `product "${echo(productId)}" is ordered ${quantity} times in all, more than ${MAX_QUANTITY}`,
      );
    }
  }
  violations.throwIfAny();
  // A malformed id cannot name a product: the same answer as an unknown one.
  const malformed = request.items.find((item) => !isUuid(item.productId));
  if (malformed) throw notFound("product", malformed.productId);
  return [...merged]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([productId, quantity]) => ({ productId, quantity }));
}
