/**
 * The REST review as docs/api.md defines it and checks of its wire format: exactly the documented keys,
 * an integer rating 1–5, RFC 3339 UTC times; and the list envelope with its average and count.
 */
import { expect } from "vitest";
import type { HttpResult } from "./http-call.js";

export interface ReviewJson {
  id: string;
  product_id: string;
  user_id: string;
  rating: number;
  comment: string;
  verified_purchase: boolean;
  created_at: string;
  updated_at: string;
}

export interface ReviewListJson {
  reviews: ReviewJson[];
  next_page_token: string;
  average_rating: number;
  review_count: number;
}

const REVIEW_KEYS = [
  "comment",
  "created_at",
  "id",
  "product_id",
  "rating",
  "updated_at",
  "user_id",
  "verified_purchase",
];
const LIST_KEYS = ["average_rating", "next_page_token", "review_count", "reviews"];
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Exactly the documented keys, each of the documented type. */
export function expectReviewShape(review: unknown): asserts review is ReviewJson {
  expect(review).toBeTypeOf("object");
  expect(Object.keys(review as object).sort()).toEqual(REVIEW_KEYS);
  const value = review as ReviewJson;
  expect(value.id).toBeTypeOf("string");
  expect(value.id).not.toBe("");
  expect(value.product_id).toBeTypeOf("string");
  expect(value.user_id).toBeTypeOf("string");
  expect(Number.isInteger(value.rating), `rating ${value.rating}`).toBe(true);
  expect(value.rating).toBeGreaterThanOrEqual(1);
  expect(value.rating).toBeLessThanOrEqual(5);
  expect(value.comment).toBeTypeOf("string");
  expect(value.verified_purchase).toBeTypeOf("boolean");
  expect(value.created_at).toMatch(RFC3339_UTC);
  expect(value.updated_at).toMatch(RFC3339_UTC);
  expect(Date.parse(value.updated_at)).toBeGreaterThanOrEqual(Date.parse(value.created_at));
}

/** A 2xx JSON response carrying one review; returns it. */
export function expectReviewResult(result: HttpResult, status: number): ReviewJson {
  expect(result.status, result.text).toBe(status);
  expect(result.headers.get("content-type")).toMatch(/^application\/json\b/);
  expectReviewShape(result.body);
  return result.body;
}

/** A 200 list page: the envelope's keys and types, and every review's shape; returns it. */
export function expectReviewListResult(result: HttpResult): ReviewListJson {
  expect(result.status, result.text).toBe(200);
  expect(result.headers.get("content-type")).toMatch(/^application\/json\b/);
  expect(Object.keys(result.body as object).sort()).toEqual(LIST_KEYS);
  const page = result.body as ReviewListJson;
  expect(Array.isArray(page.reviews)).toBe(true);
  expect(page.next_page_token).toBeTypeOf("string");
  expect(page.average_rating).toBeTypeOf("number");
  expect(Number.isInteger(page.review_count), `review_count ${page.review_count}`).toBe(true);
  for (const review of page.reviews) expectReviewShape(review);
  return page;
}
