/**
 * An item's error survives the trip through ItemError and the wire, binary or JSON: code, message
 * and the details the API attaches.
 */
import { fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  ErrorReasonSchema,
  FieldViolationsSchema,
  ItemErrorSchema,
} from "../../gen/ecommerce/common/v1/error_details_pb.js";
import { businessError, invalidArgument } from "./errors.js";
import { fromItemError, itemAnswers, toItemError } from "./item-error.js";

/** Through ItemError and its bytes, as one item of a batch answer travels. */
const overTheWire = (error: ConnectError) =>
  fromItemError(fromBinary(ItemErrorSchema, toBinary(ItemErrorSchema, toItemError(error))));

describe("an item's error", () => {
  it("keeps a business error's code, message and reason", () => {
    const back = overTheWire(businessError(Code.FailedPrecondition, "OUT_OF_STOCK", "only 2 left"));
    expect(back.code).toBe(Code.FailedPrecondition);
    expect(back.rawMessage).toBe("only 2 left");
    expect(back.findDetails(ErrorReasonSchema).map((detail) => detail.reason)).toEqual(["OUT_OF_STOCK"]);
  });

  it("keeps every field violation", () => {
    const back = overTheWire(
      invalidArgument([
        { field: "items[0].quantity", message: "must be at least 1" },
        { field: "order_id", message: "must not be empty" },
      ]),
    );
    expect(back.code).toBe(Code.InvalidArgument);
    expect(back.findDetails(FieldViolationsSchema)[0]?.violations.map((v) => v.field)).toEqual([
      "items[0].quantity",
      "order_id",
    ]);
  });

  it("survives being passed on again, as the orders process passes a refusal to the gateway", () => {
    const received = overTheWire(businessError(Code.NotFound, "PRODUCT_NOT_FOUND", "no such product"));
    const again = overTheWire(received);
    expect(again.findDetails(ErrorReasonSchema).map((detail) => detail.reason)).toEqual([
      "PRODUCT_NOT_FOUND",
    ]);
  });

  it("is JSON a caller reads without a type registry", () => {
    const item = toItemError(businessError(Code.FailedPrecondition, "OUT_OF_STOCK", "only 2 left"));
    const json = toJson(ItemErrorSchema, item);
    expect(json).toEqual({ code: Code.FailedPrecondition, message: "only 2 left", reason: "OUT_OF_STOCK" });
    expect(fromItemError(fromJson(ItemErrorSchema, json)).findDetails(ErrorReasonSchema)[0]?.reason).toBe(
      "OUT_OF_STOCK",
    );
  });

  it("reads a code it does not know, or none, as unknown: still a failure", () => {
    for (const code of [0, 99]) {
      const back = fromItemError({ ...toItemError(new ConnectError("odd", Code.Internal)), code });
      expect(back.code).toBe(Code.Unknown);
    }
  });
});

describe("itemAnswers", () => {
  it("answers each item from its outcome, in request order, and leaves one without an outcome out", () => {
    const refused = toItemError(businessError(Code.FailedPrecondition, "OUT_OF_STOCK", "only 2 left"));
    const answers = itemAnswers<string, string>(
      ["a", "b", "c", "d"],
      [
        { outcome: { case: "reserved", value: "A" } },
        { outcome: { case: "failed", value: refused } },
        { outcome: { case: undefined } },
      ],
      "reserved",
    );
    expect(answers.get("a")).toEqual({ response: "A" });
    const b = answers.get("b");
    const error = b !== undefined && "error" in b ? b.error : undefined;
    expect(error?.code).toBe(Code.FailedPrecondition);
    expect(error?.findDetails(ErrorReasonSchema)[0]?.reason).toBe("OUT_OF_STOCK");
    // An empty outcome, or none at all: no answer, never a made-up one.
    expect(answers.has("c")).toBe(false);
    expect(answers.has("d")).toBe(false);
  });
});
