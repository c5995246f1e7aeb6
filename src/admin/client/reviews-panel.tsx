/** One product's reviews with their average rating; an admin may delete any review. */
import { useState } from "hono/jsx/dom";
import type { Product, ReviewPage } from "./api-types.js";
import { useShop } from "./shop-context.js";
import { formatTime, Notice, Pager, useLoaded, usePaging } from "./ui.js";

export function ReviewsPanel(props: { product: Product; onClose(): void }) {
  const { api } = useShop();
  const paging = usePaging();
  const [version, setVersion] = useState(0);
  const path = `/products/${encodeURIComponent(props.product.id)}/reviews`;
  const {
    value: page,
    error,
    setError,
  } = useLoaded(
    () => api.get<ReviewPage>(path, { page_size: 10, page_token: paging.token }),
    [path, paging.token, version],
  );

  const remove = async (id: string) => {
    if (!confirm("Delete this review?")) return;
    try {
      await api.send("DELETE", `/reviews/${encodeURIComponent(id)}`);
      setVersion((value: number) => value + 1);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  return (
    <section class="panel reviews" aria-label={`Reviews of ${props.product.name}`}>
      <header class="panel-head">
        <h2>Reviews of “{props.product.name}”</h2>
        <button type="button" onClick={() => props.onClose()}>
          Close
        </button>
      </header>
      <Notice error={error} />
      {page !== undefined && (
        <p class="rating-summary">
          {page.review_count === 0 ? (
            "No reviews yet."
          ) : (
            <>
              <Stars rating={page.average_rating} />{" "}
              <strong class="average-rating">{page.average_rating.toFixed(1)}</strong> average over{" "}
              <span class="review-count">{page.review_count}</span>{" "}
              {page.review_count === 1 ? "review" : "reviews"}
            </>
          )}
        </p>
      )}
      <ul class="review-list">
        {(page?.reviews ?? []).map((review) => (
          <li key={review.id} class="review">
            <div>
              <Stars rating={review.rating} /> <span class="muted">by {review.user_id}</span>
              {review.verified_purchase && <span class="badge verified">verified purchase</span>}
              <span class="muted"> · {formatTime(review.created_at)}</span>
            </div>
            {review.comment !== "" && <p>{review.comment}</p>}
            <button type="button" class="danger small" onClick={() => remove(review.id)}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      <Pager paging={paging} nextToken={page?.next_page_token} />
    </section>
  );
}

function Stars(props: { rating: number }) {
  const full = Math.round(props.rating);
  return (
    <span class="stars" role="img" title={`${props.rating} of 5`} aria-label={`${props.rating} of 5 stars`}>
      {"★".repeat(full)}
      {"☆".repeat(Math.max(0, 5 - full))}
    </span>
  );
}
