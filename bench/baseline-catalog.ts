/** The ids of the baseline server's products: the first is the one-product benches' id. */
export function catalogIds(count: number): string[] {
  return Array.from(
    { length: count },
    (_, index) => `0190c0de-0000-7000-8000-${(index + 1).toString(16).padStart(12, "0")}`,
  );
}
