/** The catalog: search, filter by category and stock, page; create, edit, delete; reviews. */
import { useState } from "hono/jsx/dom";
import type { Product, ProductPage } from "./api-types.js";
import { ProductForm } from "./product-form.js";
import { ReviewsPanel } from "./reviews-panel.js";
import { useShop } from "./shop-context.js";
import {
  formatTime,
  inputChecked,
  Notice,
  PagedTable,
  TextField,
  useDebounced,
  useLoaded,
  usePaging,
} from "./ui.js";

type Panel = { kind: "new" } | { kind: "edit"; product: Product } | { kind: "reviews"; product: Product };

export function ProductsView() {
  const { api, money } = useShop();
  const [query, setQuery] = useState("");
  const [category, setCategory] = useState("");
  const [inStock, setInStock] = useState(false);
  // Debounced as one string: an object would be new on every render and never settle.
  const filterKey = useDebounced(JSON.stringify([query.trim(), category.trim(), inStock]), 250);
  const [fQuery, fCategory, fInStock] = JSON.parse(filterKey) as [string, string, boolean];
  const filters = { query: fQuery, category: fCategory, inStock: fInStock };
  const paging = usePaging(filterKey);
  const [success, setSuccess] = useState<string | undefined>(undefined);
  const [panel, setPanel] = useState<Panel | undefined>(undefined);
  const [version, setVersion] = useState(0);
  const {
    value: page,
    error,
    setError,
  } = useLoaded(
    () =>
      api.get<ProductPage>("/products", {
        q: filters.query,
        category: filters.category,
        in_stock: filters.inStock,
        page_size: 20,
        page_token: paging.token,
      }),
    [filterKey, paging.token, version],
  );

  const saved = (product: Product, created: boolean) => {
    setPanel(undefined);
    setSuccess(`${created ? "Created" : "Saved"} “${product.name}”.`);
    setVersion((value: number) => value + 1);
  };

  const remove = async (product: Product) => {
    if (!confirm(`Delete “${product.name}”? Past orders keep their copy of it.`)) return;
    try {
      await api.send("DELETE", `/products/${encodeURIComponent(product.id)}`);
      setSuccess(`Deleted “${product.name}”.`);
      if (panel !== undefined && "product" in panel && panel.product.id === product.id) setPanel(undefined);
      setVersion((value: number) => value + 1);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  return (
    <section class="view" aria-label="Products">
      <header class="view-head">
        <h1>Products</h1>
        <button type="button" class="primary" onClick={() => setPanel({ kind: "new" })}>
          New product
        </button>
      </header>
      <form class="filters" onSubmit={(event: Event) => event.preventDefault()} aria-label="Product filters">
        <TextField
          label="Search"
          type="search"
          name="q"
          placeholder="Name contains…"
          value={query}
          onValue={setQuery}
        />
        <TextField
          label="Category"
          name="category"
          placeholder="Any"
          value={category}
          onValue={setCategory}
        />
        <label class="check">
          <input
            type="checkbox"
            name="in_stock"
            checked={inStock}
            onChange={(e: Event) => setInStock(inputChecked(e))}
          />{" "}
          In stock only
        </label>
      </form>
      <Notice error={error} success={success} />
      {panel?.kind === "new" && (
        <ProductForm product={undefined} onSaved={saved} onCancel={() => setPanel(undefined)} />
      )}
      {panel?.kind === "edit" && (
        <ProductForm
          key={panel.product.id}
          product={panel.product}
          onSaved={saved}
          onCancel={() => setPanel(undefined)}
        />
      )}
      {panel?.kind === "reviews" && (
        <ReviewsPanel key={panel.product.id} product={panel.product} onClose={() => setPanel(undefined)} />
      )}
      <PagedTable
        name="products"
        head={
          <tr>
            <th>Name</th>
            <th>Category</th>
            <th class="number">Price</th>
            <th class="number">Stock</th>
            <th class="wide-only">Updated</th>
            <th>
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        }
        empty={page !== undefined && page.products.length === 0 && "No products match."}
        paging={paging}
        nextToken={page?.next_page_token}
      >
        {(page?.products ?? []).map((product) => (
          <tr key={product.id} data-product-id={product.id}>
            <td class="name">{product.name}</td>
            <td>{product.category}</td>
            <td class="number price">{money.format(product.price_cents)}</td>
            <td class={product.stock === 0 ? "number stock out" : "number stock"}>{product.stock}</td>
            <td class="wide-only muted">{formatTime(product.updated_at)}</td>
            <td class="row-actions">
              <button type="button" class="small" onClick={() => setPanel({ kind: "edit", product })}>
                Edit
              </button>
              <button type="button" class="small" onClick={() => setPanel({ kind: "reviews", product })}>
                Reviews
              </button>
              <button type="button" class="small danger" onClick={() => remove(product)}>
                Delete
              </button>
            </td>
          </tr>
        ))}
      </PagedTable>
    </section>
  );
}
