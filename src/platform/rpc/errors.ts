/**
 * The few ways a module says "no". Every business error is a ConnectError with a precise code;
 * validation errors carry FieldViolations and business-rule errors an ErrorReason, so the REST
 * gateway can render them without knowing any module.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ErrorReasonSchema,
  type FieldViolation,
  FieldViolationSchema,
  FieldViolationsSchema,
} from "../../gen/ecommerce/common/v1/error_details_pb.js";

/** A request field that failed validation. */
export interface Violation {
  field: string;
  message: string;
}

/** invalid_argument listing every offending field. */
export function invalidArgument(violations: Violation[]): ConnectError {
  const summary = violations.map((violation) => `${violation.field}: ${violation.message}`).join("; ");
  return new ConnectError(summary || "invalid request", Code.InvalidArgument, undefined, [
    {
      desc: FieldViolationsSchema,
      value: {
        violations: violations.map((violation): FieldViolation => create(FieldViolationSchema, violation)),
      },
    },
  ]);
}

/** An error with a code and a stable reason, e.g. (NotFound, "PRODUCT_NOT_FOUND"). */
export function businessError(code: Code, reason: string, message: string): ConnectError {
  return new ConnectError(message, code, undefined, [{ desc: ErrorReasonSchema, value: { reason } }]);
}

/** not_found for a resource kind and id, e.g. notFound("product", id). */
export function notFound(kind: string, id: string): ConnectError {
  return businessError(
    Code.NotFound,
    `${kind.toUpperCase()}_NOT_FOUND`,
    `${kind} "${echo(id)}" was not found`,
  );
}

const ECHO_MAX = 100;

/**
 * A caller's value as an error message may repeat it: at most 100 characters. A message echoing a
 * huge value in full would be huge too (and over gRPC, trailers too large to send).
 */
export function echo(value: string): string {
  return value.length <= ECHO_MAX ? value : `${value.slice(0, ECHO_MAX)}…`;
}
