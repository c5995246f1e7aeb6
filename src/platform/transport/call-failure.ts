/**
 * How an in-process unary call fails, whichever path it took: with its abort reason when it was
 * aborted (`deadline_exceeded`, `canceled`), as Connect's runUnaryCall does, and `unimplemented`
 * for a method nobody registered. The handler's own errors are to-client-error.ts.
 */
import type { DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createMethodUrl } from "@connectrpc/connect/protocol";
import type { LazyAbortController } from "./lazy-abort-controller.js";

/** The error a failed call reports (its abort reason when it was aborted); aborts the call with it. */
export function callFailed(abort: LazyAbortController, e: unknown): ConnectError {
  const error = abort.aborted ? ConnectError.from(abort.reason, Code.Canceled) : ConnectError.from(e);
  abort.abort(error);
  return error;
}

export function unimplemented(method: DescMethodUnary): ConnectError {
  const path = createMethodUrl("", method);
  return new ConnectError(`in-process transport: no handler registered for ${path}`, Code.Unimplemented);
}

export function abortOnDeadline(abort: LazyAbortController): void {
  abort.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
}
