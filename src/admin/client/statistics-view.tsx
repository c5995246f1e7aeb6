/**
 * Statistics: the store's totals, orders by hour of day, one customer's figures on lookup, and the
 * order events as they arrive. The figures are eventually consistent (the statistics projection
 * follows the events), so they are refetched shortly after each event.
 */
import { useRef, useState } from "hono/jsx/dom";
import type { OrderEvent, StoreOrdersByHour, StoreStatistics, UserOrderStatistics } from "./api-types.js";
import { HourChart } from "./hour-chart.js";
import { useLiveOrders, useShop } from "./shop-context.js";
import { formatTime, Notice, shortId, TextField, Totals, useCoalescedRefresh, useLoaded } from "./ui.js";

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
        <Totals
          items={[
            { label: "Orders", field: "total_orders", value: totals.total_orders },
            { label: "Revenue", field: "revenue_cents", value: money.format(totals.revenue_cents) },
            { label: "Customers", field: "total_users", value: totals.total_users },
            { label: "Products", field: "total_products", value: totals.total_products },
          ]}
        />
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
        <TextField label="User id" name="lookup_user_id" value={userId} onValue={setUserId} />
        <button type="submit" class="primary">
          Look up
        </button>
      </form>
      <Notice error={error} />
      {found !== undefined && (
        <div class="customer-stats" data-user-id={found.user_id}>
          <Totals
            compact
            items={[
              { label: "Orders", field: "total_orders", value: found.total_orders },
              { label: "Cancelled", field: "cancelled_orders", value: found.cancelled_orders },
              { label: "Spent", field: "total_spent_cents", value: money.format(found.total_spent_cents) },
            ]}
          />
          <HourChart hours={found.orders_by_hour} label={`Orders by hour of day (UTC), ${found.user_id}`} />
        </div>
      )}
    </section>
  );
}
