/**
 * Amounts in the store's currency, kept as integer minor units (cents) from the API to the screen
 * and back: shown by splitting the integer, read by parsing the text, never through a float.
 */

/** Minor-unit digits of an ISO 4217 currency (2 for USD, 0 for JPY). */
export function minorDigits(currency: string): number {
  try {
    return (
      new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ??
      2
    );
  } catch {
    return 2;
  }
}

export interface Money {
  /** `12,345.67 USD` for 1234567 cents. */
  format(minor: number): string;
  /** `12.5` → 1250; undefined for text that is not an amount (more decimals than the currency has, letters, …). */
  parse(text: string): number | undefined;
  /** The amount as an editable text (`12.50`), the inverse of `parse`. */
  toInput(minor: number): string;
  readonly currency: string;
}

const THOUSANDS = /^-?\d{1,3}(,\d{3})+(\.\d*)?$/;

export function moneyIn(currency: string): Money {
  const digits = minorDigits(currency);
  const unit = 10 ** digits;
  const grouping = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const plain = (minor: number, group: boolean) => {
    const sign = minor < 0 ? "-" : "";
    const magnitude = Math.abs(minor);
    const major = Math.floor(magnitude / unit);
    const majorText = group ? grouping.format(major) : String(major);
    if (digits === 0) return sign + majorText;
    return `${sign}${majorText}.${String(magnitude % unit).padStart(digits, "0")}`;
  };
  const pattern = digits === 0 ? /^(-?)(\d+)$/ : new RegExp(`^(-?)(\\d*)(?:\\.(\\d{0,${digits}}))?$`);
  return {
    currency,
    format: (minor) => `${plain(minor, true)} ${currency}`,
    toInput: (minor) => plain(minor, false),
    parse: (text) => {
      const raw = text.trim();
      // Commas only as thousands separators: "12,50" is not twelve and a half, nor 1250.
      if (raw.includes(",") && !THOUSANDS.test(raw)) return undefined;
      const match = pattern.exec(raw.replaceAll(",", ""));
      if (match === null) return undefined;
      const [, sign = "", major = "", fraction = ""] = match;
      if (major === "" && fraction === "") return undefined;
      const value = Number(major || "0") * unit + Number(fraction.padEnd(digits, "0") || "0");
      if (!Number.isSafeInteger(value)) return undefined;
      return sign === "-" ? -value : value;
    },
  };
}
