/** REST routes of reviews, translated one-to-one to OrderService's review methods. */
import type { Client } from "@connectrpc/connect";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { OrderService } from "../gen/ecommerce/orders/v1/order_service_pb.js";
import { callOptions } from "./call-options.js";
import { reviewJson } from "./review-json.js";
import {
  CreateReviewBody,
  ListReviewsQuery,
  ReviewListSchema,
  ReviewSchema,
  UpdateReviewBody,
} from "./review-schemas.js";
import { errorResponses, jsonBody, jsonContent, pageRequest } from "./route-helpers.js";
import { IdParam } from "./schemas.js";

const tags = ["reviews"];
const security = [{ bearerAuth: [] }];

const createReviewRoute = createRoute({
  method: "post",
  path: "/products/{id}/reviews",
  tags,
  security,
  summary: "Review a product (one review per user and product)",
  request: { params: IdParam, body: jsonBody(CreateReviewBody) },
  responses: { 201: jsonContent(ReviewSchema, "The review"), ...errorResponses(400, 401, 404, 409) },
});

const listReviewsRoute = createRoute({
  method: "get",
  path: "/products/{id}/reviews",
  tags,
  summary: "List a product's reviews, newest first, with the average rating and count",
  request: { params: IdParam, query: ListReviewsQuery },
  responses: { 200: jsonContent(ReviewListSchema, "One page of reviews"), ...errorResponses(400, 404) },
});

const updateReviewRoute = createRoute({
  method: "put",
  path: "/reviews/{id}",
  tags,
  security,
  summary: "Edit your review",
  request: { params: IdParam, body: jsonBody(UpdateReviewBody) },
  responses: {
    200: jsonContent(ReviewSchema, "The review after the change"),
    ...errorResponses(400, 401, 403, 404),
  },
});

const deleteReviewRoute = createRoute({
  method: "delete",
  path: "/reviews/{id}",
  tags,
  security,
  summary: "Delete a review (its author or an admin)",
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
});

export function registerReviewRoutes(app: OpenAPIHono, orders: Client<typeof OrderService>): void {
  app.openapi(createReviewRoute, async (c) => {
    const body = c.req.valid("json");
    const { review } = await orders.createReview(
      { productId: c.req.param("id"), rating: body.rating, comment: body.comment ?? "" },
      callOptions(c),
    );
    if (review === undefined) throw new Error("CreateReview returned no review");
    return c.json(reviewJson(review), 201);
  });

  app.openapi(listReviewsRoute, async (c) => {
    const query = c.req.valid("query");
    const response = await orders.listReviews(
      { productId: c.req.param("id"), ...pageRequest(query) },
      callOptions(c),
    );
    return c.json(
      {
        reviews: response.reviews.map(reviewJson),
        next_page_token: response.nextPageToken,
        average_rating: response.averageRating,
        review_count: response.reviewCount,
      },
      200,
    );
  });

  app.openapi(updateReviewRoute, async (c) => {
    const body = c.req.valid("json");
    const { review } = await orders.updateReview(
      { id: c.req.param("id"), rating: body.rating, comment: body.comment },
      callOptions(c),
    );
    if (review === undefined) throw new Error("UpdateReview returned no review");
    return c.json(reviewJson(review), 200);
  });

  app.openapi(deleteReviewRoute, async (c) => {
    await orders.deleteReview({ id: c.req.param("id") }, callOptions(c));
    return c.body(null, 204);
  });
}
