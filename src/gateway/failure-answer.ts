/**
 * What the REST side answers for a failure, wherever it is caught (Hono's onError, the product read
 * shortcut): reported once with the request's id (a module's failure was logged where it happened),
 * and a problem+json body that says nothing internal.
 */
import { reportFailure } from "../platform/errors/index.js";
import type { Logger } from "../platform/logger.js";
import { REQUEST_ID_HEADER } from "../platform/rpc/index.js";
import { type Problem, problemFromConnectError } from "./problem.js";

export interface FailureAnswer {
  readonly problem: Problem;
  /** Besides content-type: the request id on a server failure, Retry-After when unavailable. */
  readonly headers: Record<string, string>;
}

export function failureAnswer(
  logger: Logger,
  error: unknown,
  failed: { operation: string; requestId: string },
): FailureAnswer {
  const problem = problemFromConnectError(reportFailure(logger, error, failed));
  const headers: Record<string, string> = {};
  if (problem.status >= 500) headers[REQUEST_ID_HEADER] = failed.requestId;
  if (problem.code === "unavailable") headers["Retry-After"] = "5";
  return { problem, headers };
}
