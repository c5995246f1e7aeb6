/**
 * One item's error inside a call that handles several at once (ItemError in
 * proto/ecommerce/common/v1/error_details.proto), and back: the code, the message and every detail
 * survive, so the caller of one item rethrows the very ConnectError a call for that item alone
 * would have given it — the gateway renders it the same, `findDetails` finds the same details.
 */
import { create } from "@bufbuild/protobuf";
import { AnySchema, anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { type ItemError, ItemErrorSchema } from "../../gen/ecommerce/common/v1/error_details_pb.js";

const TYPE_URL_PREFIX = "type.googleapis.com/";

export function toItemError(error: ConnectError): ItemError {
  return create(ItemErrorSchema, {
    code: error.code,
    message: error.rawMessage,
    details: error.details.map((detail) =>
      "desc" in detail
        ? anyPack(detail.desc, create(detail.desc, detail.value))
        : create(AnySchema, { typeUrl: `${TYPE_URL_PREFIX}${detail.type}`, value: detail.value }),
    ),
  });
}

export function fromItemError(item: ItemError): ConnectError {
  // A code this version does not know (or 0, which is no error) is still a failure.
  const code = Code[item.code] === undefined ? Code.Unknown : (item.code as Code);
  const error = new ConnectError(item.message, code);
  // As Connect's own transport adds the details it reads off the wire: still packed, by type name.
  for (const any of item.details) {
    error.details.push({ type: any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1), value: any.value });
  }
  return error;
}
