/** Zod schemas of the review REST shapes (the module checks the same rules again). */
import { z } from "@hono/zod-openapi";
import { PagingQuery, text } from "./schemas.js";

const rating = () =>
  z
    .int({ error: "must be an integer" })
    .min(1, "must be at least 1")
    .max(5, "must be at most 5")
    .openapi({ example: 5 });

export const ReviewSchema = z
  .object({
    id: z.string(),
    product_id: z.string(),
    user_id: z.string(),
    rating: z.number().int(),
    comment: z.string(),
    verified_purchase: z
      .boolean()
      .openapi({ description: "The author has a non-cancelled order with the product" }),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Review");

export const CreateReviewBody = z
  .object({ rating: rating(), comment: text(2000).optional() })
  .openapi("CreateReview");

export const UpdateReviewBody = z
  .object({ rating: rating().optional(), comment: text(2000).optional() })
  .openapi("UpdateReview");

export const ListReviewsQuery = z.object({
  ...PagingQuery.shape,
});

export const ReviewListSchema = z
  .object({
    reviews: z.array(ReviewSchema),
    next_page_token: z.string(),
    average_rating: z
      .number()
      .openapi({ description: "Mean rating of all the product's reviews; 0 when none" }),
    review_count: z.number().int(),
  })
  .openapi("ReviewList");
