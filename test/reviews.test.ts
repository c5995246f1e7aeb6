/**
 * Product reviews as docs/api.md describes them, over REST and Connect: the review shape, validation,
 * one review per user and product, verified_purchase following the author's orders (and their
 * cancellation), public newest-first listing with paging and an average and count over all
 * reviews, and the role table (edit by the author only, delete by the author or an admin).
 * Runs once per available set-up, one app per set-up.
 */
import { randomUUID } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderService } from "../src/gen/ecommerce/orders/v1/order_service_pb.js";
import { connectError } from "./support/connect-call.js";
import { type HttpCallOptions, type HttpResult, httpCall } from "./support/http-call.js";
import { invalidCredentials } from "./support/invalid-tokens.js";
import { expectFieldErrors, expectProblem } from "./support/problem-assertions.js";
import { expectProductShape, type ProductJson } from "./support/product-json.js";
import {
  expectReviewListResult,
  expectReviewResult,
  type ReviewJson,
  type ReviewListJson,
} from "./support/review-json.js";
import { availableSetups, startTestApp, type TestApp } from "./support/test-app.js";

const INVALID_CREDENTIALS = await invalidCredentials();
const MALFORMED_IDS = ["not-a-uuid", "123", "x".repeat(300), "' OR 1=1 --"];
const BAD_RATINGS: [string, unknown][] = [
  ["0", 0],
  ["6", 6],
  ['"5" (a string)', "5"],
  ["2.5", 2.5],
  ["-1", -1],
  ["null", null],
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Customer {
  sub: string;
  token: string;
}

describe.each(availableSetups())("reviews (%s)", (setup) => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(setup);
  });
  afterAll(async () => {
    await app?.stop();
  });

  const call = (method: string, path: string, options?: HttpCallOptions) =>
    httpCall(app.baseUrl, method, path, options);

  async function createProduct(fields: Record<string, unknown> = {}): Promise<ProductJson> {
    const result = await call("POST", "/products", {
      token: app.adminToken,
      json: { name: `Product ${randomUUID().slice(0, 8)}`, price_cents: 1000, stock: 100, ...fields },
    });
    expect(result.status, result.text).toBe(201);
    expectProductShape(result.body);
    return result.body;
  }

  /** A user no other test uses. */
  async function newCustomer(prefix = "reviewer"): Promise<Customer> {
    const sub = `${prefix}-${randomUUID()}`;
    return { sub, token: await app.token(sub, "customer") };
  }

  const postReview = (token: string | undefined, productId: string, json: unknown) =>
    call("POST", `/products/${encodeURIComponent(productId)}/reviews`, { token, json });
  const putReview = (token: string | undefined, reviewId: string, json: unknown) =>
    call("PUT", `/reviews/${encodeURIComponent(reviewId)}`, { token, json });
  const deleteReview = (token: string | undefined, reviewId: string) =>
    call("DELETE", `/reviews/${encodeURIComponent(reviewId)}`, { token });

  async function review(
    customer: Customer,
    productId: string,
    rating = 4,
    comment: string | undefined = "Good",
  ): Promise<ReviewJson> {
    return expectReviewResult(await postReview(customer.token, productId, { rating, comment }), 201);
  }

  async function listPage(
    productId: string,
    query: Record<string, string> = {},
    token?: string,
  ): Promise<ReviewListJson> {
    const path = `/products/${encodeURIComponent(productId)}/reviews?${new URLSearchParams(query)}`;
    return expectReviewListResult(await call("GET", path, { token }));
  }

  /** Follows next_page_token to the end; returns every page. */
  async function listAllPages(productId: string, query: Record<string, string> = {}) {
    const pages: ReviewListJson[] = [];
    let pageToken = "";
    do {
      const page = await listPage(productId, pageToken === "" ? query : { ...query, page_token: pageToken });
      pages.push(page);
      pageToken = page.next_page_token;
      expect(pages.length, "paging does not end").toBeLessThan(100);
    } while (pageToken !== "");
    return pages;
  }

  /** The review as the public list shows it now (verified_purchase is computed when read). */
  async function listed(productId: string, reviewId: string): Promise<ReviewJson | undefined> {
    const all = (await listAllPages(productId, { page_size: "100" })).flatMap((page) => page.reviews);
    return all.find((item) => item.id === reviewId);
  }

  async function order(token: string, productId: string, userId?: string): Promise<string> {
    const json: Record<string, unknown> = { items: [{ product_id: productId, quantity: 1 }] };
    if (userId !== undefined) json.user_id = userId;
    const result = await call("POST", "/orders", { token, json });
    expect(result.status, result.text).toBe(201);
    return (result.body as { id: string }).id;
  }

  async function cancel(token: string, orderId: string): Promise<void> {
    const result = await call("PATCH", `/orders/${orderId}`, { token, json: { status: "cancelled" } });
    expect(result.status, result.text).toBe(200);
    expect((result.body as { status: string }).status).toBe("cancelled");
  }

  describe("create", () => {
    it("answers 201 with exactly the review: author from the token, not verified, created = updated", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      const before = Date.now();
      const result = await postReview(customer.token, product.id, { rating: 4, comment: "Solid cup" });
      const created = expectReviewResult(result, 201);
      expect(created).toEqual({
        id: expect.any(String),
        product_id: product.id,
        user_id: customer.sub,
        rating: 4,
        comment: "Solid cup",
        verified_purchase: false,
        created_at: expect.any(String),
        updated_at: created.created_at,
      });
      const createdAt = Date.parse(created.created_at);
      expect(createdAt).toBeGreaterThanOrEqual(before - 1000);
      expect(createdAt).toBeLessThanOrEqual(Date.now() + 1000);
      expect(await listed(product.id, created.id)).toEqual(created);
    });

    it("ignores a user_id in the body: the author is always the caller", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      const result = await postReview(customer.token, product.id, { rating: 3, user_id: "someone-else" });
      expect([201, 400], result.text).toContain(result.status);
      if (result.status === 201) expect((result.body as ReviewJson).user_id).toBe(customer.sub);
    });

    it("defaults a missing comment to the empty string", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      const created = expectReviewResult(await postReview(customer.token, product.id, { rating: 5 }), 201);
      expect(created.comment).toBe("");
    });

    it.each([1, 5])("accepts the boundary rating %i", async (rating) => {
      const product = await createProduct();
      expect((await review(await newCustomer(), product.id, rating)).rating).toBe(rating);
    });

    it("accepts a comment of exactly 2000 characters, counted in characters", async () => {
      const product = await createProduct();
      const comment = "😀".repeat(2000);
      expect((await review(await newCustomer(), product.id, 4, comment)).comment).toBe(comment);
    });

    it.each(BAD_RATINGS)(
      "rejects rating %s with 400 naming rating, and stores nothing",
      async (_n, rating) => {
        const product = await createProduct();
        const customer = await newCustomer();
        const result = await postReview(customer.token, product.id, { rating, comment: "x" });
        expectFieldErrors(result, ["rating"]);
        const page = await listPage(product.id);
        expect(page.review_count).toBe(0);
        expect(page.reviews).toEqual([]);
        // The failed attempt does not count as the user's one review.
        await review(customer, product.id, 3);
      },
    );

    it("rejects a missing rating with 400 naming rating", async () => {
      const product = await createProduct();
      expectFieldErrors(await postReview(app.customerToken, product.id, { comment: "no stars" }), ["rating"]);
    });

    it("rejects a comment of 2001 characters with 400 naming comment", async () => {
      const product = await createProduct();
      const result = await postReview(app.customerToken, product.id, {
        rating: 4,
        comment: "c".repeat(2001),
      });
      expectFieldErrors(result, ["comment"]);
      expect((await listPage(product.id)).review_count).toBe(0);
    });

    it("rejects a comment that is not a string, and reports every bad field at once", async () => {
      const product = await createProduct();
      expectFieldErrors(await postReview(app.customerToken, product.id, { rating: 4, comment: 5 }), [
        "comment",
      ]);
      expectFieldErrors(
        await postReview(app.customerToken, product.id, { rating: 9, comment: "c".repeat(2001) }),
        ["rating", "comment"],
      );
    });

    it("rejects malformed JSON and a non-object body with 400 problem+json", async () => {
      const product = await createProduct();
      const path = `/products/${product.id}/reviews`;
      expectProblem(
        await call("POST", path, { token: app.customerToken, rawBody: '{"rating": 4,' }),
        400,
        "invalid_argument",
      );
      expectProblem(
        await call("POST", path, { token: app.customerToken, rawBody: "[]" }),
        400,
        "invalid_argument",
      );
    });

    it("answers 404 for an unknown product", async () => {
      const id = randomUUID();
      const problem = expectProblem(await postReview(app.customerToken, id, { rating: 4 }), 404, "not_found");
      expect(problem.detail).toContain(id);
    });

    it("answers 404 for a product that was deleted", async () => {
      const product = await createProduct();
      const deleted = await call("DELETE", `/products/${product.id}`, { token: app.adminToken });
      expect(deleted.status, deleted.text).toBe(204);
      expectProblem(await postReview(app.customerToken, product.id, { rating: 4 }), 404, "not_found");
    });

    it.each(MALFORMED_IDS)("answers 404 for the malformed product id %j", async (id) => {
      expectProblem(await postReview(app.customerToken, id, { rating: 4 }), 404, "not_found");
    });

    it("answers 401 without a token and stores nothing", async () => {
      const product = await createProduct();
      expectProblem(await postReview(undefined, product.id, { rating: 4 }), 401, "unauthenticated");
      expect((await listPage(product.id)).review_count).toBe(0);
    });

    it.each(INVALID_CREDENTIALS.map((credential) => [credential.name, credential.header]))(
      "answers 401 for %s",
      async (_name, header) => {
        const product = await createProduct();
        const result = await call("POST", `/products/${product.id}/reviews`, {
          json: { rating: 4 },
          headers: { authorization: header },
        });
        expectProblem(result, 401, "unauthenticated");
      },
    );

    it("answers 409 already_exists for a second review by the same user, keeping the first", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      const first = await review(customer, product.id, 2, "meh");
      const second = await postReview(customer.token, product.id, { rating: 5, comment: "changed my mind" });
      expectProblem(second, 409, "already_exists");
      const page = await listPage(product.id);
      expect(page.review_count).toBe(1);
      expect(page.reviews).toEqual([first]);
    });

    it("lets different users each review the same product, and one user review different products", async () => {
      const product = await createProduct();
      const other = await createProduct();
      const alice = await newCustomer("alice");
      const bob = await newCustomer("bob");
      const a = await review(alice, product.id, 5);
      const b = await review(bob, product.id, 1);
      const c = await review(alice, other.id, 3);
      expect(new Set([a.id, b.id, c.id]).size).toBe(3);
      const page = await listPage(product.id);
      expect(page.review_count).toBe(2);
      expect(page.reviews.map((item) => item.user_id).sort()).toEqual([alice.sub, bob.sub].sort());
      expect((await listPage(other.id)).reviews.map((item) => item.id)).toEqual([c.id]);
    });

    it("lets an admin write a review of their own", async () => {
      const product = await createProduct();
      const sub = `admin-${randomUUID()}`;
      const created = await review({ sub, token: await app.token(sub, "admin") }, product.id, 5);
      expect(created.user_id).toBe(sub);
    });
  });

  describe("verified_purchase", () => {
    it("is false when the author has no order", async () => {
      const product = await createProduct();
      const created = await review(await newCustomer(), product.id);
      expect(created.verified_purchase).toBe(false);
      expect((await listed(product.id, created.id))?.verified_purchase).toBe(false);
    });

    it("is true after the author orders the product, and false again once that order is cancelled", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      const orderId = await order(customer.token, product.id);
      const created = await review(customer, product.id);
      expect(created.verified_purchase).toBe(true);
      expect((await listed(product.id, created.id))?.verified_purchase).toBe(true);

      await cancel(customer.token, orderId);
      expect((await listed(product.id, created.id))?.verified_purchase).toBe(false);
      const edited = expectReviewResult(
        await putReview(customer.token, created.id, { comment: "again" }),
        200,
      );
      expect(edited.verified_purchase).toBe(false);
    });

    it("follows orders placed after the review was written", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      const created = await review(customer, product.id);
      expect(created.verified_purchase).toBe(false);
      await order(customer.token, product.id);
      expect((await listed(product.id, created.id))?.verified_purchase).toBe(true);
    });

    it("stays true while another non-cancelled order with the product remains", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      const first = await order(customer.token, product.id);
      await order(customer.token, product.id);
      const created = await review(customer, product.id);
      await cancel(customer.token, first);
      expect((await listed(product.id, created.id))?.verified_purchase).toBe(true);
    });

    it("counts an order an admin placed for the author, and a paid order", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      const orderId = await order(app.adminToken, product.id, customer.sub);
      const paid = await call("PATCH", `/orders/${orderId}`, {
        token: app.adminToken,
        json: { status: "paid" },
      });
      expect(paid.status, paid.text).toBe(200);
      expect((await review(customer, product.id)).verified_purchase).toBe(true);
    });

    it("is not set by another user's order of the product", async () => {
      const product = await createProduct();
      const buyer = await newCustomer("buyer");
      const reviewer = await newCustomer("reviewer");
      await order(buyer.token, product.id);
      const created = await review(reviewer, product.id);
      expect(created.verified_purchase).toBe(false);
      const buyerReview = await review(buyer, product.id);
      expect(buyerReview.verified_purchase).toBe(true);
      expect((await listed(product.id, created.id))?.verified_purchase).toBe(false);
    });

    it("is not set by the author's order of a different product", async () => {
      const product = await createProduct();
      const other = await createProduct();
      const customer = await newCustomer();
      await order(customer.token, other.id);
      expect((await review(customer, product.id)).verified_purchase).toBe(false);
    });
  });

  describe("list", () => {
    it("is public: no token needed, and a customer token sees the same", async () => {
      const product = await createProduct();
      const created = await review(await newCustomer(), product.id, 4, "public");
      const anonymous = await listPage(product.id);
      expect(anonymous).toEqual({
        reviews: [created],
        next_page_token: "",
        average_rating: 4,
        review_count: 1,
      });
      expect(await listPage(product.id, {}, app.customerToken)).toEqual(anonymous);
    });

    it("shows average 0 and count 0 for a product without reviews", async () => {
      const product = await createProduct();
      const page = await listPage(product.id);
      expect(page).toEqual({ reviews: [], next_page_token: "", average_rating: 0, review_count: 0 });
      expect((await call("GET", `/products/${product.id}/reviews`)).text).toMatch(/"average_rating":0[,}]/);
    });

    it("lists newest first", async () => {
      const product = await createProduct();
      const ids: string[] = [];
      for (let index = 0; index < 4; index++) {
        ids.push((await review(await newCustomer(), product.id, 1 + index)).id);
        await sleep(15);
      }
      expect((await listPage(product.id)).reviews.map((item) => item.id)).toEqual([...ids].reverse());
    });

    it("pages with page_size and next_page_token: every review exactly once, average and count over all", async () => {
      const product = await createProduct();
      const ratings = [5, 4, 4, 1, 2, 5, 3];
      const created: ReviewJson[] = [];
      for (const rating of ratings) created.push(await review(await newCustomer(), product.id, rating));
      const average = ratings.reduce((sum, rating) => sum + rating, 0) / ratings.length;

      const pages = await listAllPages(product.id, { page_size: "3" });
      expect(pages.map((page) => page.reviews.length)).toEqual([3, 3, 1]);
      expect(pages.map((page) => page.next_page_token === "")).toEqual([false, false, true]);
      for (const page of pages) {
        expect(page.review_count).toBe(ratings.length);
        expect(page.average_rating).toBeCloseTo(average, 10);
      }
      const seen = pages.flatMap((page) => page.reviews);
      expect(seen.map((item) => item.id).sort()).toEqual(created.map((item) => item.id).sort());
      expect(new Set(seen.map((item) => item.id)).size).toBe(ratings.length);
      const times = seen.map((item) => Date.parse(item.created_at));
      for (let index = 1; index < times.length; index++) {
        expect(times[index] as number).toBeLessThanOrEqual(times[index - 1] as number);
      }
    });

    it('ends with "" when the last page is exactly full', async () => {
      const product = await createProduct();
      for (let index = 0; index < 4; index++) await review(await newCustomer(), product.id, 3);
      const pages = await listAllPages(product.id, { page_size: "2" });
      expect(pages.map((page) => page.reviews.length)).toEqual([2, 2]);
      const single = await listPage(product.id, { page_size: "4" });
      expect(single.reviews).toHaveLength(4);
      expect(single.next_page_token).toBe("");
    });

    it("pages 20 at a time by default", async () => {
      const product = await createProduct();
      for (let index = 0; index < 21; index++) await review(await newCustomer(), product.id, 5);
      const first = await listPage(product.id);
      expect(first.reviews).toHaveLength(20);
      expect(first.review_count).toBe(21);
      expect(first.average_rating).toBe(5);
      const second = await listPage(product.id, { page_token: first.next_page_token });
      expect(second.reviews).toHaveLength(1);
      expect(second.next_page_token).toBe("");
    });

    it("shows a fractional average exactly, and only the product's own reviews", async () => {
      const product = await createProduct();
      const other = await createProduct();
      await review(await newCustomer(), product.id, 5);
      await review(await newCustomer(), product.id, 4);
      await review(await newCustomer(), product.id, 4);
      await review(await newCustomer(), other.id, 1);
      const page = await listPage(product.id);
      expect(page.review_count).toBe(3);
      expect(page.average_rating).toBeCloseTo(13 / 3, 10);
      expect(page.reviews.every((item) => item.product_id === product.id)).toBe(true);
    });

    it("updates the average and count after an edit and a delete", async () => {
      const product = await createProduct();
      const alice = await newCustomer();
      const a = await review(alice, product.id, 1);
      await review(await newCustomer(), product.id, 3);
      expect((await listPage(product.id)).average_rating).toBe(2);
      expectReviewResult(await putReview(alice.token, a.id, { rating: 5 }), 200);
      expect(await listPage(product.id)).toMatchObject({ average_rating: 4, review_count: 2 });
      expect((await deleteReview(alice.token, a.id)).status).toBe(204);
      expect(await listPage(product.id)).toMatchObject({ average_rating: 3, review_count: 1 });
    });

    it("answers 404 for an unknown product", async () => {
      const id = randomUUID();
      const problem = expectProblem(await call("GET", `/products/${id}/reviews`), 404, "not_found");
      expect(problem.detail).toContain(id);
    });

    it.each(MALFORMED_IDS)("answers 404 for the malformed product id %j", async (id) => {
      expectProblem(await call("GET", `/products/${encodeURIComponent(id)}/reviews`), 404, "not_found");
    });

    it.each(["0", "101", "-1", "1.5", "abc", ""])(
      "rejects page_size=%j with 400 naming page_size",
      async (size) => {
        const product = await createProduct();
        const result = await call(
          "GET",
          `/products/${product.id}/reviews?page_size=${encodeURIComponent(size)}`,
        );
        expectFieldErrors(result, ["page_size"]);
      },
    );

    it.each(["1", "100"])("accepts page_size=%s", async (size) => {
      const product = await createProduct();
      await review(await newCustomer(), product.id);
      expect((await listPage(product.id, { page_size: size })).reviews).toHaveLength(1);
    });

    it("rejects a page_token it did not issue with 400", async () => {
      const product = await createProduct();
      const result = await call("GET", `/products/${product.id}/reviews?page_token=not-a-token`);
      expectProblem(result, 400, "invalid_argument");
    });
  });

  describe("edit", () => {
    async function fixture() {
      const product = await createProduct();
      const author = await newCustomer("author");
      const created = await review(author, product.id, 2, "first take");
      await sleep(20);
      return { product, author, created };
    }

    it("lets the author change the rating alone: 200, comment kept, updated_at advances", async () => {
      const { product, author, created } = await fixture();
      const edited = expectReviewResult(await putReview(author.token, created.id, { rating: 5 }), 200);
      expect(edited).toEqual({
        ...created,
        rating: 5,
        updated_at: expect.any(String),
      });
      expect(Date.parse(edited.updated_at)).toBeGreaterThan(Date.parse(created.updated_at));
      expect(edited.created_at).toBe(created.created_at);
      expect(await listed(product.id, created.id)).toEqual(edited);
    });

    it("lets the author change the comment alone, keeping the rating", async () => {
      const { author, created } = await fixture();
      const edited = expectReviewResult(
        await putReview(author.token, created.id, { comment: "second take" }),
        200,
      );
      expect(edited).toMatchObject({ id: created.id, rating: 2, comment: "second take" });
      expect(Date.parse(edited.updated_at)).toBeGreaterThan(Date.parse(created.updated_at));
    });

    it("lets the author change both, and clear the comment; each edit advances updated_at", async () => {
      const { product, author, created } = await fixture();
      const both = expectReviewResult(
        await putReview(author.token, created.id, { rating: 4, comment: "better" }),
        200,
      );
      expect(both).toMatchObject({
        rating: 4,
        comment: "better",
        user_id: author.sub,
        product_id: product.id,
      });
      await sleep(20);
      const cleared = expectReviewResult(await putReview(author.token, created.id, { comment: "" }), 200);
      expect(cleared).toMatchObject({ rating: 4, comment: "" });
      expect(Date.parse(cleared.updated_at)).toBeGreaterThan(Date.parse(both.updated_at));
    });

    it("answers 403 to another customer and changes nothing", async () => {
      const { product, created } = await fixture();
      const intruder = await newCustomer("intruder");
      const result = await putReview(intruder.token, created.id, { rating: 5, comment: "hijacked" });
      expectProblem(result, 403, "permission_denied");
      expect(await listed(product.id, created.id)).toEqual(created);
    });

    it("answers 403 to an admin editing someone else's review (author only)", async () => {
      const { product, created } = await fixture();
      expectProblem(await putReview(app.adminToken, created.id, { rating: 1 }), 403, "permission_denied");
      expect(await listed(product.id, created.id)).toEqual(created);
    });

    it("answers 400 to an empty body", async () => {
      const { product, author, created } = await fixture();
      expectProblem(await putReview(author.token, created.id, {}), 400, "invalid_argument");
      expect(await listed(product.id, created.id)).toEqual(created);
    });

    it.each(BAD_RATINGS)("rejects rating %s with 400 naming rating", async (_name, rating) => {
      const { product, author, created } = await fixture();
      expectFieldErrors(await putReview(author.token, created.id, { rating }), ["rating"]);
      expect(await listed(product.id, created.id)).toEqual(created);
    });

    it("rejects a comment of 2001 characters with 400 naming comment", async () => {
      const { author, created } = await fixture();
      expectFieldErrors(await putReview(author.token, created.id, { comment: "c".repeat(2001) }), [
        "comment",
      ]);
    });

    it("answers 401 without a token", async () => {
      const { created } = await fixture();
      expectProblem(await putReview(undefined, created.id, { rating: 5 }), 401, "unauthenticated");
    });

    it("answers 404 for an unknown review", async () => {
      const id = randomUUID();
      const problem = expectProblem(await putReview(app.customerToken, id, { rating: 5 }), 404, "not_found");
      expect(problem.detail).toContain(id);
    });

    it.each(MALFORMED_IDS)("answers 404 for the malformed review id %j", async (id) => {
      expectProblem(await putReview(app.customerToken, id, { rating: 5 }), 404, "not_found");
    });
  });

  describe("delete", () => {
    it("lets the author delete: 204 with no body, then the review is gone and answers 404", async () => {
      const product = await createProduct();
      const author = await newCustomer();
      const created = await review(author, product.id, 5);
      const result = await deleteReview(author.token, created.id);
      expect(result.status, result.text).toBe(204);
      expect(result.text).toBe("");
      expect(await listPage(product.id)).toEqual({
        reviews: [],
        next_page_token: "",
        average_rating: 0,
        review_count: 0,
      });
      expectProblem(await deleteReview(author.token, created.id), 404, "not_found");
      expectProblem(await putReview(author.token, created.id, { rating: 1 }), 404, "not_found");
    });

    it("lets the author review the product again after deleting the review", async () => {
      const product = await createProduct();
      const author = await newCustomer();
      const first = await review(author, product.id, 1);
      expect((await deleteReview(author.token, first.id)).status).toBe(204);
      const second = await review(author, product.id, 5);
      expect(second.id).not.toBe(first.id);
      expect((await listPage(product.id)).reviews.map((item) => item.id)).toEqual([second.id]);
    });

    it("lets an admin delete anyone's review: 204, then 404", async () => {
      const product = await createProduct();
      const created = await review(await newCustomer(), product.id);
      expect((await deleteReview(app.adminToken, created.id)).status).toBe(204);
      expect(await listed(product.id, created.id)).toBeUndefined();
      expectProblem(await deleteReview(app.adminToken, created.id), 404, "not_found");
    });

    it("answers 403 to another customer and keeps the review", async () => {
      const product = await createProduct();
      const created = await review(await newCustomer(), product.id);
      const intruder = await newCustomer("intruder");
      expectProblem(await deleteReview(intruder.token, created.id), 403, "permission_denied");
      expect(await listed(product.id, created.id)).toEqual(created);
    });

    it("answers 401 without a token and keeps the review", async () => {
      const product = await createProduct();
      const created = await review(await newCustomer(), product.id);
      expectProblem(await deleteReview(undefined, created.id), 401, "unauthenticated");
      expect(await listed(product.id, created.id)).toEqual(created);
    });

    it("answers 404 for an unknown or malformed review id", async () => {
      expectProblem(await deleteReview(app.customerToken, randomUUID()), 404, "not_found");
      expectProblem(await deleteReview(app.adminToken, "not-a-uuid"), 404, "not_found");
    });
  });

  describe("over Connect", () => {
    let client: Client<typeof OrderService>;
    beforeAll(() => {
      client = createClient(
        OrderService,
        createConnectTransport({ baseUrl: app.baseUrl, httpVersion: "1.1" }),
      );
    });
    const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

    it("createReview without a token is Unauthenticated", async () => {
      const product = await createProduct();
      const error = await connectError(client.createReview({ productId: product.id, rating: 4 }));
      expect(error.code).toBe(Code.Unauthenticated);
      expect((await listPage(product.id)).review_count).toBe(0);
    });

    it("createReview stores the review REST shows; a duplicate is AlreadyExists", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      const { review: created } = await client.createReview(
        { productId: product.id, rating: 3, comment: "via connect" },
        auth(customer.token),
      );
      expect(created).toBeDefined();
      expect(created?.userId).toBe(customer.sub);
      expect(created?.verifiedPurchase).toBe(false);
      const rest = await listed(product.id, created?.id ?? "");
      expect(rest).toMatchObject({ rating: 3, comment: "via connect", user_id: customer.sub });
      expect(created?.createdAt && timestampDate(created.createdAt).toISOString()).toBe(rest?.created_at);

      const duplicate = await connectError(
        client.createReview({ productId: product.id, rating: 5 }, auth(customer.token)),
      );
      expect(duplicate.code).toBe(Code.AlreadyExists);
    });

    it("createReview validates like REST: rating 0 is InvalidArgument, an unknown product NotFound", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      const invalid = await connectError(
        client.createReview({ productId: product.id, rating: 0 }, auth(customer.token)),
      );
      expect(invalid.code).toBe(Code.InvalidArgument);
      const tooLong = await connectError(
        client.createReview(
          { productId: product.id, rating: 4, comment: "c".repeat(2001) },
          auth(customer.token),
        ),
      );
      expect(tooLong.code).toBe(Code.InvalidArgument);
      const missing = await connectError(
        client.createReview({ productId: randomUUID(), rating: 4 }, auth(customer.token)),
      );
      expect(missing.code).toBe(Code.NotFound);
    });

    it("updateReview by another user or an admin is PermissionDenied; the author may", async () => {
      const product = await createProduct();
      const author = await newCustomer("author");
      const created = await review(author, product.id, 2, "before");
      const other = await newCustomer("other");
      const denied = await connectError(
        client.updateReview({ id: created.id, rating: 5 }, auth(other.token)),
      );
      expect(denied.code).toBe(Code.PermissionDenied);
      const admin = await connectError(
        client.updateReview({ id: created.id, rating: 5 }, auth(app.adminToken)),
      );
      expect(admin.code).toBe(Code.PermissionDenied);
      const unauthenticated = await connectError(client.updateReview({ id: created.id, rating: 5 }));
      expect(unauthenticated.code).toBe(Code.Unauthenticated);
      expect(await listed(product.id, created.id)).toEqual(created);

      await sleep(20);
      const { review: updated } = await client.updateReview(
        { id: created.id, rating: 5 },
        auth(author.token),
      );
      expect(updated).toMatchObject({ id: created.id, rating: 5, comment: "before" });
      expect(updated?.updatedAt && timestampDate(updated.updatedAt).getTime()).toBeGreaterThan(
        Date.parse(created.updated_at),
      );
      const empty = await connectError(client.updateReview({ id: created.id }, auth(author.token)));
      expect(empty.code).toBe(Code.InvalidArgument);
      const unknown = await connectError(
        client.updateReview({ id: randomUUID(), rating: 1 }, auth(author.token)),
      );
      expect(unknown.code).toBe(Code.NotFound);
    });

    it("listReviews needs no token and returns the average and count over all reviews", async () => {
      const product = await createProduct();
      const ratings = [5, 2, 4];
      for (const rating of ratings) await review(await newCustomer(), product.id, rating);
      const first = await client.listReviews({ productId: product.id, pageSize: 2 });
      expect(first.reviews).toHaveLength(2);
      expect(first.averageRating).toBeCloseTo(11 / 3, 10);
      expect(first.reviewCount).toBe(3);
      expect(first.nextPageToken).not.toBe("");
      const second = await client.listReviews({ productId: product.id, pageToken: first.nextPageToken });
      expect(second.reviews).toHaveLength(1);
      expect(second.nextPageToken).toBe("");
      expect(second.averageRating).toBeCloseTo(11 / 3, 10);
      const ids = [...first.reviews, ...second.reviews].map((item) => item.id);
      expect(new Set(ids).size).toBe(3);

      const empty = await client.listReviews({ productId: (await createProduct()).id });
      expect(empty).toMatchObject({ reviews: [], averageRating: 0, reviewCount: 0, nextPageToken: "" });
      const missing = await connectError(client.listReviews({ productId: randomUUID() }));
      expect(missing.code).toBe(Code.NotFound);
      const badSize = await connectError(client.listReviews({ productId: product.id, pageSize: 101 }));
      expect(badSize.code).toBe(Code.InvalidArgument);
    });

    it("deleteReview: another customer is PermissionDenied, an admin may, then NotFound", async () => {
      const product = await createProduct();
      const created = await review(await newCustomer(), product.id);
      const other = await newCustomer("other");
      const denied = await connectError(client.deleteReview({ id: created.id }, auth(other.token)));
      expect(denied.code).toBe(Code.PermissionDenied);
      expect((await connectError(client.deleteReview({ id: created.id }))).code).toBe(Code.Unauthenticated);
      await client.deleteReview({ id: created.id }, auth(app.adminToken));
      const gone = await connectError(client.deleteReview({ id: created.id }, auth(app.adminToken)));
      expect(gone.code).toBe(Code.NotFound);
      expect((await listPage(product.id)).review_count).toBe(0);
    });

    it("reports verified_purchase as REST does", async () => {
      const product = await createProduct();
      const customer = await newCustomer();
      await order(customer.token, product.id);
      const { review: created } = await client.createReview(
        { productId: product.id, rating: 5 },
        auth(customer.token),
      );
      expect(created?.verifiedPurchase).toBe(true);
      const { reviews } = await client.listReviews({ productId: product.id });
      expect(reviews.map((item) => item.verifiedPurchase)).toEqual([true]);
    });
  });

  it("never answers a bad review request with a 5xx", async () => {
    const product = await createProduct();
    const results: HttpResult[] = await Promise.all([
      call("POST", `/products/${product.id}/reviews`, { token: app.customerToken, rawBody: "not json" }),
      call("PUT", `/reviews/${randomUUID()}`, { token: app.customerToken, rawBody: '{"rating":' }),
      call("GET", `/products/${product.id}/reviews?page_size=1e3`),
    ]);
    for (const result of results) expect(result.status, result.text).toBeLessThan(500);
  });
});
