/**
 * The admin UI's amounts (src/admin/client/money.ts): integer minor units shown and read back
 * without a float in between, in currencies with two, zero and three minor digits.
 */
import { describe, expect, it } from "vitest";
import { minorDigits, moneyIn } from "../src/admin/client/money.js";

describe("money in the admin UI", () => {
  it("knows each currency's minor digits", () => {
    expect(minorDigits("USD")).toBe(2);
    expect(minorDigits("JPY")).toBe(0);
    expect(minorDigits("KWD")).toBe(3);
  });

  it("shows cents by splitting the integer, grouped, with the currency", () => {
    const usd = moneyIn("USD");
    expect(usd.format(0)).toBe("0.00 USD");
    expect(usd.format(5)).toBe("0.05 USD");
    expect(usd.format(123_456_789)).toBe("1,234,567.89 USD");
    expect(usd.format(-1_050)).toBe("-10.50 USD");
    // The largest price the API accepts, exactly.
    expect(usd.format(10_000_000_000)).toBe("100,000,000.00 USD");
    expect(moneyIn("JPY").format(1_500)).toBe("1,500 JPY");
    expect(moneyIn("KWD").format(1_005)).toBe("1.005 KWD");
  });

  it("reads what a person types into exact minor units", () => {
    const usd = moneyIn("USD");
    expect(usd.parse("12.34")).toBe(1_234);
    expect(usd.parse("12.3")).toBe(1_230);
    expect(usd.parse("12")).toBe(1_200);
    expect(usd.parse(".5")).toBe(50);
    expect(usd.parse(" 1,234.56 ")).toBe(123_456);
    expect(usd.parse("-3")).toBe(-300);
    // 0.1 + 0.2 and friends: no float on the way.
    expect(usd.parse("0.29")).toBe(29);
    expect(usd.parse("1.13")).toBe(113);
    expect(usd.parse("4.35")).toBe(435);
  });

  it("refuses text that is not an amount in the currency", () => {
    const usd = moneyIn("USD");
    // A comma is a thousands separator or nothing: "12,50" is neither 12.50 nor 1,250.00.
    for (const text of ["", "twelve", "1.234", "1.2.3", "$5", "1e3", ".", "12,50", "1,2,3", "1234,567"])
      expect(usd.parse(text), text).toBeUndefined();
    expect(moneyIn("JPY").parse("1.5")).toBeUndefined();
    expect(usd.parse("99999999999999999999")).toBeUndefined();
  });

  it("gives back, for editing, the text it reads to the same amount", () => {
    const usd = moneyIn("USD");
    for (const cents of [0, 7, 1_299, 10_000_000_000]) expect(usd.parse(usd.toInput(cents))).toBe(cents);
    expect(usd.toInput(1_299)).toBe("12.99");
  });
});
