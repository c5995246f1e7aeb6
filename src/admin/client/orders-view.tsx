/**
 * Orders, newest first, by status and user; one order's lines and totals, and the status moves it
 * allows. New orders and status changes arrive live: the page is refetched on each event, so what
 * is shown is always what the API says.
 */
import { useRef, useState } from "hono/jsx/dom";
import { ORDER_STATUSES, type Order, type OrderPage, type OrderStatus } from "./api-types.js";
import { MOVE_LABELS, NEXT_STATUSES } from "./order-transitions.js";
import { useLiveOrders, useShop } from "./shop-context.js";
import {
  Field,
  formatTime,
  inputValue,
  Notice,
  PagedTable,
  StatusBadge,
  shortId,
  TextField,
  useCoalescedRefresh,
  useDebounced,
  useLoaded,
  usePaging,
} from "./ui.js";

export function OrdersView() {
  const { api, money } = useShop();
  const [status, setStatus] = useState("");
  const [userId, setUserId] = useState("");
  const filterKey = useDebounced(JSON.stringify([status, userId.trim()]), 250);
  const [fStatus, fUser] = JSON.parse(filterKey) as [string, string];
  const paging = usePaging(filterKey);
  const [selected, setSelected] = useState<Order | undefined>(undefined);
  const [version, setVersion] = useState(0);
  const [liveVersion, refreshSoon] = useCoalescedRefresh(300);
  /** Orders that arrived live since the view opened, highlighted. */
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const {
    value: page,
    error,
    setError,
  } = useLoaded(
    () =>
      api.get<OrderPage>("/orders", {
        status: fStatus,
        user_id: fUser,
        page_size: 20,
        page_token: paging.token,
      }),
    [filterKey, paging.token, version, liveVersion],
  );

  /** The order shown, for answers that arrive after the person moved on. */
  const shownId = useRef<string | undefined>(undefined);
  shownId.current = selected?.id;

  useLiveOrders((event) => {
    if (event !== "reconnected") {
      if (event.type === "order.created")
        setFresh((before: ReadonlySet<string>) => new Set([...before, event.order_id]));
      if (shownId.current === event.order_id) reloadSelected(event.order_id);
    }
    refreshSoon();
  });

  /** The order again, shown only if it is still the one shown and no older than what is. */
  const reloadSelected = (id: string) =>
    api.get<Order>(`/orders/${encodeURIComponent(id)}`).then(
      (order) =>
        setSelected((current: Order | undefined) =>
          current?.id === id && order.updated_at >= current.updated_at ? order : current,
        ),
      (failure: Error) => setError(failure.message),
    );

  return (
    <section class="view" aria-label="Orders">
      <header class="view-head">
        <h1>Orders</h1>
      </header>
      <form class="filters" onSubmit={(event: Event) => event.preventDefault()} aria-label="Order filters">
        <Field label="Status">
          <select name="status" value={status} onChange={(e: Event) => setStatus(inputValue(e))}>
            <option value="">Any</option>
            {ORDER_STATUSES.map((name) => (
              <option value={name} selected={name === status}>
                {name}
              </option>
            ))}
          </select>
        </Field>
        <TextField label="User" name="user_id" placeholder="Any user id" value={userId} onValue={setUserId} />
      </form>
      <Notice error={error} />
      {selected !== undefined && (
        <OrderDetail
          key={selected.id}
          order={selected}
          onChanged={(order) => {
            setSelected(order);
            setVersion((value: number) => value + 1);
          }}
          onClose={() => setSelected(undefined)}
        />
      )}
      <PagedTable
        name="orders"
        head={
          <tr>
            <th>Order</th>
            <th>User</th>
            <th>Status</th>
            <th class="number">Items</th>
            <th class="number">Total</th>
            <th class="wide-only">Created</th>
          </tr>
        }
        empty={page !== undefined && page.orders.length === 0 && "No orders match."}
        paging={paging}
        nextToken={page?.next_page_token}
      >
        {(page?.orders ?? []).map((order) => (
          <tr
            key={order.id}
            data-order-id={order.id}
            class={fresh.has(order.id) ? "clickable fresh" : "clickable"}
            onClick={() => setSelected(order)}
          >
            <td>
              <button type="button" class="link" title={order.id}>
                {shortId(order.id)}
              </button>
            </td>
            <td>{order.user_id}</td>
            <td>
              <StatusBadge status={order.status} />
            </td>
            <td class="number">{order.items.reduce((sum, item) => sum + item.quantity, 0)}</td>
            <td class="number">{money.format(order.total_cents)}</td>
            <td class="wide-only muted">{formatTime(order.created_at)}</td>
          </tr>
        ))}
      </PagedTable>
    </section>
  );
}

function OrderDetail(props: { order: Order; onChanged(order: Order): void; onClose(): void }) {
  const { api, money } = useShop();
  const { order } = props;
  const [error, setError] = useState<string | undefined>(undefined);
  const [moving, setMoving] = useState(false);

  const move = async (to: OrderStatus) => {
    if (to === "cancelled" && !confirm("Cancel this order? Its stock goes back to the catalog.")) return;
    setMoving(true);
    try {
      props.onChanged(
        await api.send<Order>("PATCH", `/orders/${encodeURIComponent(order.id)}`, { status: to }),
      );
      setError(undefined);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setMoving(false);
    }
  };

  return (
    <section class="panel order-detail" aria-label="Order detail" data-order-id={order.id}>
      <header class="panel-head">
        <h2>
          Order <code>{order.id}</code>
        </h2>
        <button type="button" onClick={() => props.onClose()}>
          Close
        </button>
      </header>
      <p>
        <StatusBadge status={order.status} /> for <strong>{order.user_id}</strong>, created{" "}
        {formatTime(order.created_at)}, updated {formatTime(order.updated_at)}
      </p>
      <Notice error={error} />
      <div class="table-wrap">
        <table class="lines">
          <thead>
            <tr>
              <th>Product</th>
              <th class="number">Qty</th>
              <th class="number">Unit price</th>
              <th class="number">Discount</th>
              <th class="number">Line total</th>
            </tr>
          </thead>
          <tbody>
            {order.items.map((item) => (
              <tr key={item.product_id}>
                <td>{item.product_name}</td>
                <td class="number">{item.quantity}</td>
                <td class="number">{money.format(item.unit_price_cents)}</td>
                <td class="number">
                  {item.discount_cents === 0 ? "—" : `−${money.format(item.discount_cents)}`}
                </td>
                <td class="number">{money.format(item.line_total_cents)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th colSpan={4}>Subtotal</th>
              <td class="number">{money.format(order.subtotal_cents)}</td>
            </tr>
            <tr>
              <th colSpan={4}>Discount</th>
              <td class="number">−{money.format(order.discount_cents)}</td>
            </tr>
            <tr class="total">
              <th colSpan={4}>Total</th>
              <td class="number order-total">{money.format(order.total_cents)}</td>
            </tr>
          </tfoot>
        </table>
      </div>
      <div class="actions status-moves">
        {NEXT_STATUSES[order.status].length === 0 && (
          <span class="muted">No further moves: the order is {order.status}.</span>
        )}
        {NEXT_STATUSES[order.status].map((to) => (
          <button
            type="button"
            class={to === "cancelled" ? "danger" : "primary"}
            disabled={moving}
            data-move-to={to}
            onClick={() => move(to)}
          >
            {MOVE_LABELS[to]}
          </button>
        ))}
      </div>
    </section>
  );
}
