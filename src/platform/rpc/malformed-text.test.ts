import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { UpdateProductRequestSchema } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import {
  ConfirmReservationsRequestSchema,
  ReserveStockRequestSchema,
} from "../../gen/ecommerce/inventory/v1/stock_service_pb.js";
import { CreateOrderRequestSchema } from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import { findMalformedText, isMalformedText } from "./malformed-text.js";

describe("isMalformedText", () => {
  it.each([
    ["a\u0000b", true],
    ["\u0000", true],
    ["lone high \ud800 surrogate", true],
    ["lone low \udc00 surrogate", true],
    ["reversed pair \udc00\ud800", true],
    ["high at the end \ud83d", true],
  ])("finds %j malformed", (text, expected) => {
    expect(isMalformedText(text)).toBe(expected);
  });

  it.each(["", "plain", "émoji 😀 and 𝄞", "tabs\tand\nnewlines", "\u0001 control but not NUL", "日本語"])(
    "accepts %j",
    (text) => {
      expect(isMalformedText(text)).toBe(false);
    },
  );
});

describe("findMalformedText", () => {
  it("names a top-level string field by its proto name", () => {
    const request = create(UpdateProductRequestSchema, { id: "p", name: "Cup\u0000" });
    expect(findMalformedText(UpdateProductRequestSchema, request)).toBe("name");
  });

  it("names a string inside a repeated message with its index", () => {
    const request = create(CreateOrderRequestSchema, {
      items: [
        { productId: "a", quantity: 1 },
        { productId: "b\ud800", quantity: 1 },
      ],
    });
    expect(findMalformedText(CreateOrderRequestSchema, request)).toBe("items[1].product_id");
  });

  it("names an element of a repeated string field", () => {
    const request = create(ConfirmReservationsRequestSchema, { orderIds: ["ok", "ok", "\u0000"] });
    expect(findMalformedText(ConfirmReservationsRequestSchema, request)).toBe("order_ids[2]");
  });

  it("finds nothing in a well-formed request", () => {
    const request = create(ReserveStockRequestSchema, {
      orderId: "o-1",
      lines: [{ productId: "p 😀", quantity: 2 }],
    });
    expect(findMalformedText(ReserveStockRequestSchema, request)).toBeUndefined();
  });
});
