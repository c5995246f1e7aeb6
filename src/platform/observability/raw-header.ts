/**
 * One header of a Node request, read from its raw list: on HTTP/1.1 the `headers` object is built
 * on first use, a visible cost on the hottest read, which never otherwise needs it.
 */
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";

/** The first value of the header `lowerCaseName` (which must be lower case), or undefined. */
export function rawHeader(
  request: IncomingMessage | Http2ServerRequest,
  lowerCaseName: string,
): string | undefined {
  const raw = request.rawHeaders;
  const length = lowerCaseName.length;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index] as string;
    if (name.length === length && name.toLowerCase() === lowerCaseName) return raw[index + 1];
  }
  return undefined;
}
