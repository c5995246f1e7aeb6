/**
 * RFC 9457 problem details: the one shape of every REST error. ConnectErrors from the modules are
 * mapped here, and only here, to HTTP statuses; anything unexpected becomes a 500 whose cause is
 * logged and never sent.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { HTTPException } from "hono/http-exception";
import { ErrorReasonSchema, FieldViolationsSchema } from "../gen/ecommerce/common/v1/error_details_pb.js";
import { publicError } from "../platform/errors/index.js";

export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  reason?: string;
  errors?: FieldError[];
}

const STATUS_BY_CODE: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 409,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

const TITLE_BY_STATUS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  408: "Request Timeout",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  499: "Client Closed Request",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Business reasons whose HTTP status is not the one of their Connect code. */
const STATUS_BY_REASON: Record<string, number> = {
  IDEMPOTENCY_KEY_REUSED: 422,
};

/** Connect code as the API names it: `InvalidArgument` → `invalid_argument`. */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

export function problem(status: number, code: string, detail: string, extra?: Partial<Problem>): Problem {
  return {
    type: `urn:problem:${code}`,
    title: TITLE_BY_STATUS[status] ?? "Error",
    status,
    detail,
    code,
    ...extra,
  };
}

/** The problem for a ConnectError from a module; `internal` hides the message. */
export function problemFromConnectError(error: ConnectError): Problem {
  const reason = error.findDetails(ErrorReasonSchema)[0]?.reason;
  const status = (reason && STATUS_BY_REASON[reason]) || (STATUS_BY_CODE[error.code] ?? 500);
  const code = codeName(error.code);
  const violations = error.findDetails(FieldViolationsSchema)[0]?.violations;
  // A server failure says what kind it was and nothing of its cause (see public-error.ts).
  const detail = status >= 500 ? publicError(error).rawMessage : error.rawMessage;
  return problem(status, code, detail, {
    ...(reason ? { reason } : {}),
    ...(violations && violations.length > 0
      ? { errors: violations.map(({ field, message }) => ({ field, message })) }
      : {}),
  });
}

export function validationProblem(errors: FieldError[]): Problem {
  const detail = errors.map((error) => `${error.field}: ${error.message}`).join("; ");
  return problem(400, "invalid_argument", detail || "invalid request", { errors });
}

/** The HTTP status an error thrown by a handler ends up as. */
export function statusOfError(error: unknown): number {
  if (error instanceof ConnectError) return problemFromConnectError(error).status;
  if (error instanceof HTTPException && error.status < 500) return error.status;
  return 500;
}
