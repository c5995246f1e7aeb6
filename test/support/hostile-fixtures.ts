/**
 * The resources the hostile-input sweep aims at, created through the public API before it runs,
 * and what a hostile client knows about them: their ids, each of a kind, so that an id of one
 * kind can be sent where another kind belongs.
 */
import { UNKNOWN_UUID } from "./hostile-values.js";

export type IdKind = "product" | "order" | "review" | "discount" | "user";

export interface HostileFixtures {
  /** Ordered, reviewed and discounted; the product of every order and discount the sweep makes. */
  productId: string;
  /** The product the sweep updates and reviews. */
  targetProductId: string;
  discountId: string;
  /** The customer's order, pending. */
  orderId: string;
  /** The customer's review of `productId`. */
  reviewId: string;
  /** The customer's user id (the `sub` of the customer token). */
  customerId: string;
}

/** The fixture id of a kind (the one a valid request would name). */
export function fixtureIdOf(fixtures: HostileFixtures, kind: IdKind): string {
  switch (kind) {
    case "product":
      return fixtures.productId;
    case "order":
      return fixtures.orderId;
    case "review":
      return fixtures.reviewId;
    case "discount":
      return fixtures.discountId;
    case "user":
      return fixtures.customerId;
  }
}

/** Every fixture id that is not of `kind`, labelled with its kind. */
export function wrongKindIds(fixtures: HostileFixtures, kind: IdKind): { label: string; id: string }[] {
  const all: [IdKind, string][] = [
    ["product", fixtures.productId],
    ["order", fixtures.orderId],
    ["review", fixtures.reviewId],
    ["discount", fixtures.discountId],
    ["user", fixtures.customerId],
  ];
  return all.filter(([other]) => other !== kind).map(([other, id]) => ({ label: `a ${other} id`, id }));
}

/** The kind of id a field or path parameter holds, from its name and the resource around it. */
export function idKindOf(name: string, resource?: string): IdKind | undefined {
  const normalized = name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
  if (/^product_ids?$/.test(normalized)) return "product";
  if (/^order_ids?$/.test(normalized)) return "order";
  if (/^review_ids?$/.test(normalized)) return "review";
  if (/^discount_ids?$/.test(normalized)) return "discount";
  if (normalized === "user_id") return "user";
  if (normalized === "id" && resource !== undefined) return resourceKind(resource);
  return undefined;
}

/** `products` / `Product` / `UpdateOrderStatus` → the kind of resource they are about. */
export function resourceKind(resource: string): IdKind | undefined {
  const lower = resource.toLowerCase();
  for (const kind of ["product", "order", "review", "discount"] as const) {
    if (lower.includes(kind)) return kind;
  }
  if (lower.includes("user")) return "user";
  return undefined;
}

/** What a valid request does with the id it names. */
export type IdUse = "read" | "write" | "delete";

/**
 * The id a valid request names: the fixture of its kind; for product writes (updates, new reviews)
 * the target product; for deletions an id nobody has, so that the sweep never removes the
 * resources it aims at.
 */
export function baseIdOf(fixtures: HostileFixtures, kind: IdKind | undefined, use: IdUse): string {
  if (kind === undefined) return "x";
  if (use === "delete" && kind !== "user") return UNKNOWN_UUID;
  if (use === "write" && kind === "product") return fixtures.targetProductId;
  return fixtureIdOf(fixtures, kind);
}
