/** Discounts: list, create (products picked from the catalog, a start and an end), delete. */
import { useState } from "hono/jsx/dom";
import { type FormErrors, formErrors } from "./api.js";
import type { Discount, DiscountPage, Product, ProductPage } from "./api-types.js";
import { useShop } from "./shop-context.js";
import {
  FormActions,
  formatTime,
  Notice,
  PagedTable,
  TextField,
  useDebounced,
  useLoaded,
  usePaging,
} from "./ui.js";

export function DiscountsView() {
  const { api } = useShop();
  const paging = usePaging();
  const [success, setSuccess] = useState<string | undefined>(undefined);
  const [creating, setCreating] = useState(false);
  const [version, setVersion] = useState(0);
  const {
    value: page,
    error,
    setError,
  } = useLoaded(
    () => api.get<DiscountPage>("/discounts", { page_size: 20, page_token: paging.token }),
    [paging.token, version],
  );

  const remove = async (discount: Discount) => {
    if (!confirm(`Delete the discount “${discount.name}”?`)) return;
    try {
      await api.send("DELETE", `/discounts/${encodeURIComponent(discount.id)}`);
      setSuccess(`Deleted “${discount.name}”.`);
      setVersion((value: number) => value + 1);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  return (
    <section class="view" aria-label="Discounts">
      <header class="view-head">
        <h1>Discounts</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New discount
        </button>
      </header>
      <Notice error={error} success={success} />
      {creating && (
        <DiscountForm
          onCreated={(discount) => {
            setCreating(false);
            setSuccess(`Created “${discount.name}”.`);
            setVersion((value: number) => value + 1);
          }}
          onCancel={() => setCreating(false)}
        />
      )}
      <PagedTable
        name="discounts"
        head={
          <tr>
            <th>Name</th>
            <th class="number">Off</th>
            <th class="number">Products</th>
            <th>From</th>
            <th>Until</th>
            <th>In force</th>
            <th>
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        }
        empty={page !== undefined && page.discounts.length === 0 && "No discounts yet."}
        paging={paging}
        nextToken={page?.next_page_token}
      >
        {(page?.discounts ?? []).map((discount) => (
          <tr key={discount.id} data-discount-id={discount.id}>
            <td>
              {discount.name}
              {discount.description !== "" && <div class="muted small-text">{discount.description}</div>}
            </td>
            <td class="number">{discount.percent_off} %</td>
            <td class="number">{discount.product_ids.length}</td>
            <td>{formatTime(discount.starts_at)}</td>
            <td>{formatTime(discount.ends_at)}</td>
            <td>{discount.active ? <span class="badge active">now</span> : <span class="muted">no</span>}</td>
            <td class="row-actions">
              <button type="button" class="small danger" onClick={() => remove(discount)}>
                Delete
              </button>
            </td>
          </tr>
        ))}
      </PagedTable>
    </section>
  );
}

/** `datetime-local` text for a Date, in the browser's time zone. */
function localInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The form's fields are named as the API names them. */
const API_FIELDS = {
  name: "name",
  description: "description",
  percent_off: "percent_off",
  product_ids: "product_ids",
  starts_at: "starts_at",
  ends_at: "ends_at",
} as const;

type DiscountField = keyof typeof API_FIELDS;

function DiscountForm(props: { onCreated(discount: Discount): void; onCancel(): void }) {
  const { api, money } = useShop();
  const now = new Date();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [percent, setPercent] = useState("10");
  const [startsAt, setStartsAt] = useState(localInput(now));
  const [endsAt, setEndsAt] = useState(localInput(new Date(now.getTime() + 7 * 24 * 3600 * 1000)));
  const [picked, setPicked] = useState<Product[]>([]);
  const [search, setSearch] = useState("");
  const settledSearch = useDebounced(search.trim(), 250);
  const [errors, setErrors] = useState<FormErrors<DiscountField>>({ fields: {} });

  const found =
    useLoaded(() => api.get<ProductPage>("/products", { q: settledSearch, page_size: 8 }), [settledSearch])
      .value?.products ?? [];

  const toggle = (product: Product) =>
    setPicked(
      picked.some((p) => p.id === product.id)
        ? picked.filter((p) => p.id !== product.id)
        : [...picked, product],
    );

  const submit = async (event: Event) => {
    event.preventDefault();
    const starts = new Date(startsAt);
    const ends = new Date(endsAt);
    const local: Partial<Record<DiscountField, string>> = {};
    if (!/^\d+$/.test(percent.trim())) local.percent_off = "Enter a whole percentage, 1 to 100";
    if (Number.isNaN(starts.getTime())) local.starts_at = "Pick a start";
    if (Number.isNaN(ends.getTime())) local.ends_at = "Pick an end";
    if (Object.keys(local).length > 0) {
      setErrors({ fields: local });
      return;
    }
    try {
      const created = await api.send<Discount>("POST", "/discounts", {
        name,
        description,
        percent_off: Number(percent.trim()),
        product_ids: picked.map((p) => p.id),
        starts_at: starts.toISOString(),
        ends_at: ends.toISOString(),
      });
      props.onCreated(created);
    } catch (failure) {
      setErrors(formErrors(failure, API_FIELDS));
    }
  };

  return (
    <form class="panel discount-form" onSubmit={submit} aria-label="New discount">
      <h2>New discount</h2>
      <Notice error={errors.form} />
      <TextField label="Name" name="name" value={name} onValue={setName} error={errors.fields.name} />
      <TextField
        label="Description"
        name="description"
        value={description}
        onValue={setDescription}
        error={errors.fields.description}
      />
      <TextField
        label="Percent off"
        name="percent_off"
        value={percent}
        onValue={setPercent}
        error={errors.fields.percent_off}
        inputmode="numeric"
      />
      <div class="field-row">
        <TextField
          label="Starts"
          name="starts_at"
          type="datetime-local"
          value={startsAt}
          onValue={setStartsAt}
          error={errors.fields.starts_at}
        />
        <TextField
          label="Ends"
          name="ends_at"
          type="datetime-local"
          value={endsAt}
          onValue={setEndsAt}
          error={errors.fields.ends_at}
        />
      </div>
      <fieldset class={errors.fields.product_ids === undefined ? "picker" : "picker invalid"}>
        <legend>Products ({picked.length} picked)</legend>
        {errors.fields.product_ids !== undefined && (
          <span class="field-error" role="alert">
            {errors.fields.product_ids}
          </span>
        )}
        <div class="chips">
          {picked.map((product) => (
            <button type="button" class="chip" title="Remove" onClick={() => toggle(product)}>
              {product.name} ✕
            </button>
          ))}
        </div>
        <TextField
          label="Find products"
          type="search"
          name="product_search"
          placeholder="Name contains…"
          value={search}
          onValue={setSearch}
        />
        <ul class="pick-list">
          {found.map((product) => (
            <li key={product.id}>
              <label class="check">
                <input
                  type="checkbox"
                  data-product-id={product.id}
                  checked={picked.some((p) => p.id === product.id)}
                  onChange={() => toggle(product)}
                />{" "}
                {product.name} <span class="muted">{money.format(product.price_cents)}</span>
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
      <FormActions submit="Create discount" onCancel={() => props.onCancel()} />
    </form>
  );
}
