/**
 * Statistics: the store's totals, orders by hour of day, one customer's figures on lookup, and the
 * order events as they arrive. The figures are eventually consistent (the statistics projection
 * follows the events), so they are refetched shortly after each event.
 */
import { useRef, useState } from "hono/jsx/dom";
import type { OrderEvent, StoreOrdersByHour, StoreStatistics, UserOrderStatistics } from "./api-types.js";
import { HourChart } from "./hour-chart.js";
import { useLiveOrders, useShop } from "./shop-context.js";
import { Field, formatTime, inputValue, Notice, shortId, useCoalescedRefresh, useLoaded } from "./ui.js";

/** The projection usually follows an order within a few hundred ms; refetch once it has. */
const PROJECTION_LAG_MS = 600;
const FEED_LENGTH = 8;

export function StatisticsView() {
  const { api, money } = useShop();
  const [feed, setFeed] = useState<OrderEvent[]>([]);
  const [liveVersion, refreshSoon] = useCoalescedRefresh(PROJECTION_LAG_MS);
  const { value, error } = useLoaded(
    () =>
      Promise.all([
        api.get<StoreStatistics>("/stats/user"),
        api.get<StoreOrdersByHour>("/stats/orders-by-hour"),
      ]),
    [liveVersion],
  );
  const [totals, hours] = value ?? [];

  useLiveOrders((event) => {
    if (event !== "reconnected") setFeed((before: OrderEvent[]) => [event, ...before].slice(0, FEED_LENGTH));
    refreshSoon();
  });

  return (
    <section class="view" aria-label="Statistics">
      <header class="view-head">
        <h1>Statistics</h1>
      </header>
      <Notice error={error} />
      {totals !== undefined && (
        <dl class="totals">
          <div>
            <dt>Orders</dt>
            <dd data-total="total_orders">{totals.total_orders}</dd>
          </div>
          <div>
            <dt>Revenue</dt>
            <dd data-total="revenue_cents">{money.format(totals.revenue_cents)}</dd>
          </div>
          <div>
            <dt>Customers</dt>
            <dd data-total="total_users">{totals.total_users}</dd>
          </div>
          <div>
            <dt>Products</dt>
            <dd data-total="total_products">{totals.total_products}</dd>
          </div>
        </dl>
      )}
      {hours !== undefined && (
        <HourChart hours={hours.orders_by_hour} label="Orders by hour of day (UTC), whole store" />
      )}
      <div class="columns">
        <CustomerLookup />
        <section class="panel feed" aria-label="Live orders">
          <h2>Arriving now</h2>
          {feed.length === 0 && (
            <p class="muted">New orders and status changes appear here as they happen.</p>
          )}
          <ul>
            {feed.map((event) => (
              <li class="feed-item">
                {event.type === "order.created" ? (
                  <>
                    New order <code title={event.order_id}>{shortId(event.order_id)}</code> by {event.user_id}
                    , {money.format(event.total_cents)}
                  </>
                ) : (
                  <>
                    Order <code title={event.order_id}>{shortId(event.order_id)}</code>: {event.from} →{" "}
                    {event.to}
                  </>
                )}
                <span class="muted">
                  {" "}
                  · {formatTime(event.type === "order.created" ? event.created_at : event.changed_at)}
                </span>
              </li>
            ))}
          </ul>
        </section>
      </div>
    </section>
  );
}

function CustomerLookup() {
  const { api, money } = useShop();
  const [userId, setUserId] = useState("");
  const [found, setFound] = useState<UserOrderStatistics | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  /** Which lookup is the latest: an earlier one answering late is dropped. */
  const latest = useRef(0);

  const lookUp = async (event: Event) => {
    event.preventDefault();
    const id = userId.trim();
    if (id === "") return;
    const lookup = ++latest.current;
    try {
      const stats = await api.get<UserOrderStatistics>(`/stats/user-orders/${encodeURIComponent(id)}`);
      if (lookup !== latest.current) return;
      setFound(stats);
      setError(undefined);
    } catch (failure) {
      if (lookup !== latest.current) return;
      setFound(undefined);
      setError((failure as Error).message);
    }
  };

  return (
    <section class="panel customer" aria-label="Customer statistics">
      <h2>One customer</h2>
      <form class="inline-form" onSubmit={lookUp}>
        <Field label="User id">
          <input
            name="lookup_user_id"
            value={userId}
            onInput={(e: Event) => setUserId(inputValue(e))}
            autocomplete="off"
          />
        </Field>
        <button type="submit" class="primary">
          Look up
        </button>
      </form>
      <Notice error={error} />
      {found !== undefined && (
        <div class="customer-stats" data-user-id={found.user_id}>
          <dl class="totals compact">
            <div>
              <dt>Orders</dt>
              <dd data-total="total_orders">{found.total_orders}</dd>
            </div>
            <div>
              <dt>Cancelled</dt>
              <dd data-total="cancelled_orders">{found.cancelled_orders}</dd>
            </div>
            <div>
              <dt>Spent</dt>
              <dd data-total="total_spent_cents">{money.format(found.total_spent_cents)}</dd>
            </div>
          </dl>
          <HourChart hours={found.orders_by_hour} label={`Orders by hour of day (UTC), ${found.user_id}`} />
        </div>
      )}
    </section>
  );
}
