/**
 * One item's error inside a call that handles several at once (ItemError in
 * proto/ecommerce/common/v1/error_details.proto), and back: the code, the message and the details
 * this API attaches (an ErrorReason, FieldViolations) survive, so the caller of one item rethrows
 * the ConnectError a call for that item alone would have given it — the gateway renders it the
 * same, `findDetails` finds the same details. Plain fields rather than packed `Any`s: a JSON
 * caller reads them without a type registry.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ErrorReasonSchema,
  FieldViolationsSchema,
  type ItemError,
  ItemErrorSchema,
} from "../../gen/ecommerce/common/v1/error_details_pb.js";

export function toItemError(error: ConnectError): ItemError {
  return create(ItemErrorSchema, {
    code: error.code,
    message: error.rawMessage,
    reason: error.findDetails(ErrorReasonSchema)[0]?.reason ?? "",
    fieldViolations: error.findDetails(FieldViolationsSchema).flatMap((detail) => detail.violations),
  });
}

export function fromItemError(item: ItemError): ConnectError {
  // A code this version does not know (or 0, which is no error) is still a failure.
  const code = Code[item.code] === undefined ? Code.Unknown : (item.code as Code);
  return new ConnectError(item.message, code, undefined, [
    ...(item.reason === "" ? [] : [{ desc: ErrorReasonSchema, value: { reason: item.reason } }]),
    ...(item.fieldViolations.length === 0
      ? []
      : [{ desc: FieldViolationsSchema, value: { violations: item.fieldViolations } }]),
  ]);
}

/** What one item of a batch call came to: its own response, or the error its own call would get. */
export type ItemAnswer<R> = { response: R } | { error: ConnectError };

/**
 * Each item's answer from a batch call's outcomes — one per item, in request order, a oneof
 * `outcome` that is `answered` (the item's response) or `failed` (its ItemError). An item the
 * outcomes miss gets no answer, so that its caller fails as after a lost call, never with a
 * response made up.
 */
export function itemAnswers<K, R>(
  items: readonly K[],
  outcomes: readonly { outcome: { case: string | undefined; value?: unknown } }[],
  answered: string,
): Map<K, ItemAnswer<R>> {
  const answers = new Map<K, ItemAnswer<R>>();
  items.forEach((item, index) => {
    const outcome = outcomes[index]?.outcome;
    if (outcome?.case === answered) answers.set(item, { response: outcome.value as R });
    else if (outcome?.case === "failed")
      answers.set(item, { error: fromItemError(outcome.value as ItemError) });
  });
  return answers;
}
