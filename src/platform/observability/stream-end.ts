/**
 * Where a server stream's outcome is known: not when an interceptor's `next` resolves (that is its
 * start, before a message has been sent) but when its messages run out or fail. Interceptors that
 * report how a call went (its metrics, its span, its failure) hand their report to `onCallEnd`.
 */
import type { StreamResponse, UnaryResponse } from "@connectrpc/connect";

/**
 * `call`, with `onEnd` called once when it is over: a unary call when it settles, a server stream
 * when its messages end (they ran out or the reader stopped: no error; they failed: the error).
 * What `onEnd` returns for an error is thrown in its place.
 */
export async function onCallEnd<R extends UnaryResponse | StreamResponse>(
  call: Promise<R>,
  onEnd: (error?: unknown) => unknown,
): Promise<R> {
  let response: R;
  try {
    response = await call;
  } catch (error) {
    throw onEnd(error);
  }
  if (!response.stream) {
    onEnd();
    return response;
  }
  return withStreamedMessages(response, (messages) => endingWith(messages, onEnd));
}

/**
 * `response` whose messages, if it is a stream, pass through `wrap`; a unary response as it is.
 */
function withStreamedMessages<R extends UnaryResponse | StreamResponse>(
  response: R,
  wrap: (messages: AsyncIterable<unknown>) => AsyncIterable<unknown>,
): R {
  if (!response.stream) return response;
  return { ...response, message: wrap(response.message) };
}

/**
 * The messages of a stream, with `onEnd` called once when they end: with nothing when they ran
 * out or the reader stopped reading, with the error otherwise. What `onEnd` returns is thrown in
 * place of the error.
 */
async function* endingWith<T>(
  messages: AsyncIterable<T>,
  onEnd: (error?: unknown) => unknown,
): AsyncGenerator<T> {
  let failed = false;
  try {
    yield* messages;
  } catch (error) {
    failed = true;
    throw onEnd(error);
  } finally {
    if (!failed) onEnd();
  }
}
