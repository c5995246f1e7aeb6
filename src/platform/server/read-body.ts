/** Reads a request body into one buffer, stopping as soon as it passes a size limit. */
import type { Readable } from "node:stream";

/** What readBody answers for a body larger than the limit (of which it read only the limit). */
export const TOO_LARGE = Symbol("body too large");

/**
 * The whole body, or TOO_LARGE as soon as more than `maxBytes` have arrived: reading stops there
 * (the stream is paused and left to whoever answers), so a huge body costs at most the limit.
 * Rejects when the stream fails (the client went away).
 */
export function readBody(stream: Readable, maxBytes: number): Promise<Buffer | typeof TOO_LARGE> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        done();
        stream.pause();
        resolve(TOO_LARGE);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    const onClose = () => {
      done();
      reject(new Error("the client closed the connection before sending the whole body"));
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.on("close", onClose);
  });
}
