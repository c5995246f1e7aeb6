/**
 * Discount arithmetic on integer cents. Money never passes through a float: a percentage of a
 * bigint price is floored with bigint division, so every process computes the same cent.
 */

/** How much a discount takes off one unit: floor(priceCents * percentOff / 100). */
export function unitDiscountCents(priceCents: bigint, percentOff: number): bigint {
  return (priceCents * BigInt(percentOff)) / 100n;
}

/** The unit price after the discount: priceCents - floor(priceCents * percentOff / 100). */
export function discountedPriceCents(priceCents: bigint, percentOff: number): bigint {
  return priceCents - unitDiscountCents(priceCents, percentOff);
}
