/**
 * What a handler's failure becomes on its way back to an in-process caller: the error a Connect
 * client would read off the wire, so a module behaves the same in process and split
 * (docs/architecture.md, "A request", point 5, for how errors flow).
 */
import { create, type JsonValue, toBinary, toJson } from "@bufbuild/protobuf";
import { appendHeaders, Code, ConnectError } from "@connectrpc/connect";
import { isLogged, markLogged } from "../errors/public-error.js";

/** A detail as a client receives it from the wire: the google.protobuf.Any parts plus Connect's debug JSON. */
type WireDetail = { type: string; value: Uint8Array; debug?: JsonValue };

/**
 * Turns whatever a handler threw into the ConnectError a Connect client would get for it over the
 * network, so callers cannot tell the in-process transport from a remote one:
 * - anything that is not a ConnectError becomes `internal` with the message "internal error" and
 *   no cause: the cause would not survive the wire, and code that relied on it would break the day
 *   the module moves to its own process (server interceptors still see the original error);
 * - metadata is the response headers the handler set, overwritten by the error's own metadata,
 *   followed by the response trailers;
 * - details become `{type, value: bytes, debug}` like parsed wire details, so `findDetails`
 *   decodes fresh messages and the client shares no objects with the handler.
 * Errors are the slow path, so encoding the details here costs nothing that matters.
 */
export function toClientError(
  thrown: unknown,
  responseHeader: Headers,
  responseTrailer: Headers,
): ConnectError {
  if (!(thrown instanceof ConnectError)) {
    return new ConnectError("internal error", Code.Internal, appendHeaders(responseHeader, responseTrailer));
  }
  const error = thrown;
  const header = new Headers(responseHeader);
  error.metadata.forEach((value, key) => {
    header.set(key, value);
  });
  let details: WireDetail[];
  try {
    details = error.details.map(toWireDetail);
  } catch (e) {
    // What Connect's handler does when it cannot serialize an error.
    const reason = e instanceof Error ? e.message : String(e);
    return new ConnectError(`failed to serialize Connect Error: ${reason}`, Code.Internal);
  }
  const clientError = new ConnectError(error.rawMessage, error.code, appendHeaders(header, responseTrailer));
  clientError.details.push(...details);
  // Logged where it was thrown: the caller in this process must not log it again.
  if (isLogged(error)) markLogged(clientError);
  return clientError;
}

function toWireDetail(detail: ConnectError["details"][number]): WireDetail {
  if ("desc" in detail) {
    const message = create(detail.desc, detail.value);
    let debug: JsonValue | undefined;
    try {
      debug = toJson(detail.desc, message);
    } catch {
      // Connect leaves the optional debug form out when it cannot render it (e.g. an Any inside).
    }
    return { type: detail.desc.typeName, value: toBinary(detail.desc, message), debug };
  }
  return { type: detail.type, value: detail.value.slice(), debug: detail.debug };
}
