/** The REST shape of a review. */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Review } from "../gen/ecommerce/orders/v1/review_pb.js";

export function reviewJson(review: Review) {
  return {
    id: review.id,
    product_id: review.productId,
    user_id: review.userId,
    rating: review.rating,
    comment: review.comment,
    verified_purchase: review.verifiedPurchase,
    created_at: review.createdAt ? timestampDate(review.createdAt).toISOString() : "",
    updated_at: review.updatedAt ? timestampDate(review.updatedAt).toISOString() : "",
  };
}
