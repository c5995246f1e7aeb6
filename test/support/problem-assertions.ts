/**
 * Assertions for RFC 9457 problem+json errors as docs/api.md defines them:
 * `{type, title, status, detail, code}` plus `errors: [{field, message}]` for validation failures.
 */
import { expect } from "vitest";
import type { HttpResult } from "./http-call.js";

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { field: string; message: string }[];
}

/** Checks the status, the content type and the full problem shape; returns the body. */
export function expectProblem(result: HttpResult, status: number, code: string): ProblemBody {
  expect(result.status, result.text).toBe(status);
  expect(result.headers.get("content-type")).toMatch(/^application\/problem\+json\b/);
  const body = result.body as ProblemBody;
  expect(body).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
  });
  expect(body.type).not.toBe("");
  expect(body.title).not.toBe("");
  return body;
}

/** A 400 invalid_argument whose `errors` name exactly these fields, each once and with a message. */
export function expectFieldErrors(result: HttpResult, fields: string[]): ProblemBody {
  const body = expectProblem(result, 400, "invalid_argument");
  expect(Array.isArray(body.errors), `errors missing in ${result.text}`).toBe(true);
  const errors = body.errors ?? [];
  for (const error of errors) {
    expect(error).toEqual({ field: expect.any(String), message: expect.any(String) });
    expect(error.message).not.toBe("");
  }
  expect(errors.map((error) => error.field).sort()).toEqual([...fields].sort());
  return body;
}
