/**
 * The review methods of OrderService. Reviews live with orders (as in the system we re-create)
 * because `verified_purchase` is a question about the author's orders; whether the product exists
 * is asked of inventory through its client.
 */
import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { InventoryService } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import {
  CreateReviewResponseSchema,
  DeleteReviewResponseSchema,
  ListReviewsResponseSchema,
  type OrderService,
  UpdateReviewResponseSchema,
} from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import type { Authenticator } from "../../platform/auth/index.js";
import { isUuid } from "../../platform/ids.js";
import {
  businessError,
  decodeTimeCursor,
  fetchPage,
  notFound,
  resolvePageSize,
  timeCursorOf,
  Violations,
} from "../../platform/rpc/index.js";
import type { OrderRpc } from "./order-handlers.js";
import type { ReviewStore } from "./review-store.js";

export const COMMENT_MAX = 2000;

type ReviewMethods = "createReview" | "listReviews" | "updateReview" | "deleteReview";

export interface ReviewHandlersDeps {
  reviews: ReviewStore;
  inventory: Client<typeof InventoryService>;
  auth: Authenticator;
}

export function createReviewHandlers(
  deps: ReviewHandlersDeps,
): Pick<ServiceImpl<typeof OrderService>, ReviewMethods> {
  return {
    createReview: createReviewHandler(deps),
    listReviews: listReviewsHandler(deps),
    updateReview: updateReviewHandler(deps),
    deleteReview: deleteReviewHandler(deps),
  };
}

/** not_found unless the catalog has the product (asked with no token: reads are public). */
async function requireProduct(
  inventory: ReviewHandlersDeps["inventory"],
  productId: string,
  context: HandlerContext,
): Promise<void> {
  if (!isUuid(productId)) throw notFound("product", productId);
  try {
    await inventory.getProduct({ id: productId }, { signal: context.signal });
  } catch (error) {
    if (error instanceof ConnectError && error.code === Code.NotFound) throw notFound("product", productId);
    throw error;
  }
}

function checkFields(rating: number | undefined, comment: string | undefined): void {
  const violations = new Violations();
  if (rating !== undefined) violations.range("rating", rating, 1, 5);
  if (comment !== undefined) violations.text("comment", comment, COMMENT_MAX, { required: false });
  violations.throwIfAny();
}

async function existingReview(reviews: ReviewStore, id: string) {
  const review = isUuid(id) ? await reviews.get(id) : undefined;
  if (review === undefined) throw notFound("review", id);
  return review;
}

function createReviewHandler({ reviews, inventory, auth }: ReviewHandlersDeps): OrderRpc<"createReview"> {
  return async (request, context) => {
    const principal = await auth.requireUser(context);
    checkFields(request.rating, request.comment);
    await requireProduct(inventory, request.productId, context);
    const review = await reviews.create({
      productId: request.productId,
      userId: principal.userId,
      rating: request.rating,
      comment: request.comment,
    });
    return create(CreateReviewResponseSchema, { review });
  };
}

function listReviewsHandler({ reviews, inventory, auth }: ReviewHandlersDeps): OrderRpc<"listReviews"> {
  return async (request, context) => {
    if (context.requestHeader.has("authorization")) await auth.identify(context);
    const limit = resolvePageSize(request.pageSize);
    const before = decodeTimeCursor(request.pageToken);
    await requireProduct(inventory, request.productId, context);
    const [page, summary] = await Promise.all([
      fetchPage(limit, (rows) => reviews.list(request.productId, before, rows), timeCursorOf),
      reviews.summary(request.productId),
    ]);
    return create(ListReviewsResponseSchema, {
      reviews: page.items,
      nextPageToken: page.nextPageToken,
      averageRating: summary.averageRating,
      reviewCount: summary.reviewCount,
    });
  };
}

function updateReviewHandler({ reviews, auth }: ReviewHandlersDeps): OrderRpc<"updateReview"> {
  return async (request, context) => {
    const principal = await auth.requireUser(context);
    const review = await existingReview(reviews, request.id);
    if (review.userId !== principal.userId) {
      throw businessError(Code.PermissionDenied, "NOT_THE_AUTHOR", "only its author may edit a review");
    }
    if (request.rating === undefined && request.comment === undefined) {
      const violations = new Violations();
      violations.add("body", "must set rating or comment");
      violations.throwIfAny();
    }
    checkFields(request.rating, request.comment);
    const updated = await reviews.update(review.id, { rating: request.rating, comment: request.comment });
    if (updated === undefined) throw notFound("review", request.id);
    return create(UpdateReviewResponseSchema, { review: updated });
  };
}

function deleteReviewHandler({ reviews, auth }: ReviewHandlersDeps): OrderRpc<"deleteReview"> {
  return async (request, context) => {
    const principal = await auth.requireUser(context);
    const review = await existingReview(reviews, request.id);
    if (review.userId !== principal.userId && principal.role !== "admin") {
      throw businessError(
        Code.PermissionDenied,
        "NOT_THE_AUTHOR",
        "only its author or an admin may delete a review",
      );
    }
    if (!(await reviews.delete(review.id))) throw notFound("review", request.id);
    return create(DeleteReviewResponseSchema, {});
  };
}
