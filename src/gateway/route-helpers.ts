/** Small builders for OpenAPI route definitions, so each route states only what is its own. */
import type { z } from "@hono/zod-openapi";
import { ProblemSchema } from "./schemas.js";

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input (problem+json with per-field errors)",
  401: "Missing, invalid or expired bearer token",
  403: "The caller's role does not allow this",
  404: "No such resource",
  409: "Conflict with the resource's current state",
  422: "Idempotency key reused with a different body",
  503: "A dependency is down; retry after Retry-After seconds",
};

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { content: { "application/json": { schema } }, required: true };
}

export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        content: { "application/problem+json": { schema: ProblemSchema } },
        description: ERROR_DESCRIPTIONS[status] ?? "Error",
      },
    ]),
  );
}

/** The paging fields of a list request from validated page_size / page_token query values. */
export function pageRequest(query: { page_size?: string; page_token?: string }): {
  pageSize: number;
  pageToken: string;
} {
  return {
    pageSize: query.page_size === undefined ? 0 : Number(query.page_size),
    pageToken: query.page_token ?? "",
  };
}
