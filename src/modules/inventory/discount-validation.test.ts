import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FieldViolationsSchema } from "../../gen/ecommerce/common/v1/error_details_pb.js";
import { CreateDiscountRequestSchema } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { validateNewDiscount } from "./discount-validation.js";

type RequestFields = MessageInitShape<typeof CreateDiscountRequestSchema>;

const ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const request = (fields: RequestFields = {}) =>
  create(CreateDiscountRequestSchema, {
    name: "Sale",
    percentOff: 10,
    productIds: [ID],
    startsAt: timestampFromDate(new Date("2030-01-01T00:00:00Z")),
    endsAt: timestampFromDate(new Date("2030-01-02T00:00:00Z")),
    ...fields,
  });

function violatedFields(fields: RequestFields): string[] {
  try {
    validateNewDiscount(request(fields));
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    const details = (error as ConnectError).findDetails(FieldViolationsSchema)[0];
    return (details?.violations ?? []).map((violation) => violation.field).sort();
  }
  throw new Error("expected invalid_argument");
}

describe("discount validation", () => {
  it("reports every bad field at once, with REST names", () => {
    expect(
      violatedFields({
        name: " ",
        description: "d".repeat(5001),
        percentOff: 101,
        productIds: ["nope"],
        startsAt: undefined,
        endsAt: undefined,
      }),
    ).toEqual(["description", "ends_at", "name", "percent_off", "product_ids", "starts_at"]);
  });

  it("needs ends_at after starts_at, 1–100 percent and 1–1000 products", () => {
    const startsAt = timestampFromDate(new Date("2030-01-01T00:00:00Z"));
    expect(violatedFields({ endsAt: startsAt, startsAt })).toEqual(["ends_at"]);
    expect(violatedFields({ percentOff: 0 })).toEqual(["percent_off"]);
    expect(violatedFields({ productIds: [] })).toEqual(["product_ids"]);
    expect(violatedFields({ productIds: Array.from({ length: 1001 }, () => ID) })).toEqual(["product_ids"]);
  });

  it("trims the name and removes repeated product ids, whatever their case", () => {
    const valid = validateNewDiscount(
      request({ name: "  Sale  ", percentOff: 100, productIds: [ID, ID.toUpperCase()] }),
    );
    expect(valid).toMatchObject({ name: "Sale", percentOff: 100, productIds: [ID] });
    expect(valid.endsAt.getTime() - valid.startsAt.getTime()).toBe(86_400_000);
  });
});
