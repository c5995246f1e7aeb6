/**
 * The catalog's input rules, enforced inside the module so REST and Connect callers meet the same
 * ones. Every violation is reported at once, with the REST field name.
 */
import type {
  CreateProductRequest,
  ListProductsRequest,
  UpdateProductRequest,
} from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { Violations } from "../../platform/rpc/index.js";
import type { NewProduct, ProductChanges } from "./product-store.js";

export const NAME_MAX = 200;
export const DESCRIPTION_MAX = 5000;
export const CATEGORY_MAX = 100;
export const Q_MAX = 200;
/**
 * docs/api.md, "Limits", amounts: with at most 1,000 units a line and 100 lines an order, no order
 * total (10^10 × 10^5 = 10^15) can pass 2^53, so every amount in a response stays exact as a
 * JSON number.
 */
export const PRICE_MAX = 10_000_000_000n;
export const STOCK_MAX = 1_000_000_000;
/** A price filter may name any price a JSON number holds exactly; it matches nothing above PRICE_MAX. */
const FILTER_PRICE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

export function validateNewProduct(request: CreateProductRequest): NewProduct {
  const violations = new Violations();
  violations.text("name", request.name, NAME_MAX, { required: true });
  violations.text("description", request.description, DESCRIPTION_MAX, { required: false });
  violations.text("category", request.category, CATEGORY_MAX, { required: false });
  violations.range("price_cents", request.priceCents, 0n, PRICE_MAX);
  violations.range("stock", request.stock, 0, STOCK_MAX);
  violations.throwIfAny();
  return {
    name: request.name.trim(),
    description: request.description,
    category: request.category.trim(),
    priceCents: request.priceCents,
    stock: request.stock,
  };
}

export function validateProductChanges(request: UpdateProductRequest): ProductChanges {
  const violations = new Violations();
  const changes: ProductChanges = {};
  if (request.name !== undefined) {
    violations.text("name", request.name, NAME_MAX, { required: true });
    changes.name = request.name.trim();
  }
  if (request.description !== undefined) {
    violations.text("description", request.description, DESCRIPTION_MAX, { required: false });
    changes.description = request.description;
  }
  if (request.category !== undefined) {
    violations.text("category", request.category, CATEGORY_MAX, { required: false });
    changes.category = request.category.trim();
  }
  if (request.priceCents !== undefined) {
    violations.range("price_cents", request.priceCents, 0n, PRICE_MAX);
    changes.priceCents = request.priceCents;
  }
  if (request.stock !== undefined) {
    violations.range("stock", request.stock, 0, STOCK_MAX);
    changes.stock = request.stock;
  }
  if (Object.keys(changes).length === 0) {
    violations.add("body", "must set at least one of name, description, category, price_cents, stock");
  }
  violations.throwIfAny();
  return changes;
}

export function validateListFilter(request: ListProductsRequest): void {
  const violations = new Violations();
  violations.text("category", request.category, CATEGORY_MAX, { required: false });
  violations.text("q", request.q, Q_MAX, { required: false });
  if (request.minPriceCents !== undefined)
    violations.range("min_price_cents", request.minPriceCents, 0n, FILTER_PRICE_MAX);
  if (request.maxPriceCents !== undefined)
    violations.range("max_price_cents", request.maxPriceCents, 0n, FILTER_PRICE_MAX);
  if (
    request.minPriceCents !== undefined &&
    request.maxPriceCents !== undefined &&
    request.minPriceCents > request.maxPriceCents
  ) {
    violations.add("max_price_cents", "must not be less than min_price_cents");
  }
  violations.throwIfAny();
}
