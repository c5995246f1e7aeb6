/**
 * Creates or edits a product. The API validates; its per-field errors are shown beside the field
 * they name. Only an amount the form cannot read as money is refused here, before sending.
 */
import { useState } from "hono/jsx/dom";
import { ApiError } from "./api.js";
import type { Product } from "./api-types.js";
import { useShop } from "./shop-context.js";
import { Field, inputValue, Notice } from "./ui.js";

interface Draft {
  name: string;
  category: string;
  description: string;
  price: string;
  stock: string;
}

/** Form field → the API field its errors name. */
const API_FIELDS: Record<keyof Draft, string> = {
  name: "name",
  category: "category",
  description: "description",
  price: "price_cents",
  stock: "stock",
};

export function ProductForm(props: {
  product: Product | undefined;
  onSaved(product: Product, created: boolean): void;
  onCancel(): void;
}) {
  const { api, money } = useShop();
  const { product } = props;
  const [draft, setDraft] = useState<Draft>({
    name: product?.name ?? "",
    category: product?.category ?? "",
    description: product?.description ?? "",
    price: product === undefined ? "" : money.toInput(product.price_cents),
    stock: product === undefined ? "0" : String(product.stock),
  });
  const [errors, setErrors] = useState<Partial<Record<keyof Draft, string>>>({});
  const [formError, setFormError] = useState<string | undefined>(undefined);
  const [saving, setSaving] = useState(false);
  const edit = (field: keyof Draft) => (event: Event) => setDraft({ ...draft, [field]: inputValue(event) });

  const submit = async (event: Event) => {
    event.preventDefault();
    const priceCents = money.parse(draft.price);
    const stock = /^-?\d+$/.test(draft.stock.trim()) ? Number(draft.stock.trim()) : undefined;
    const local: Partial<Record<keyof Draft, string>> = {};
    if (priceCents === undefined) local.price = `Enter an amount such as 12.99 (${money.currency})`;
    if (stock === undefined) local.stock = "Enter a whole number of units";
    if (priceCents === undefined || stock === undefined) {
      setErrors(local);
      return;
    }
    const body: Record<string, string | number> = {
      name: draft.name,
      category: draft.category,
      description: draft.description,
      price_cents: priceCents,
      stock,
    };
    if (product !== undefined) {
      // Only what changed: a concurrent edit of another field is not overwritten.
      const before: Record<string, string | number> = { ...product };
      for (const key of Object.keys(body)) if (body[key] === before[key]) delete body[key];
    }
    setSaving(true);
    try {
      const saved =
        product === undefined
          ? await api.send<Product>("POST", "/products", body)
          : await api.send<Product>("PATCH", `/products/${encodeURIComponent(product.id)}`, body);
      props.onSaved(saved, product === undefined);
    } catch (error) {
      showErrors(error);
    } finally {
      setSaving(false);
    }
  };

  const showErrors = (error: unknown) => {
    if (!(error instanceof ApiError)) {
      setFormError(String(error));
      return;
    }
    const byField: Partial<Record<keyof Draft, string>> = {};
    for (const [field, apiField] of Object.entries(API_FIELDS) as [keyof Draft, string][]) {
      const message = error.forField(apiField);
      if (message !== undefined) byField[field] = message;
    }
    setErrors(byField);
    setFormError(
      Object.keys(byField).length === 0 ? error.message : "Please correct the fields marked below.",
    );
  };

  return (
    <form class="panel product-form" onSubmit={submit} aria-label={product ? "Edit product" : "New product"}>
      <h2>{product ? `Edit “${product.name}”` : "New product"}</h2>
      <Notice error={formError} />
      <Field label="Name" error={errors.name}>
        <input name="name" value={draft.name} onInput={edit("name")} autocomplete="off" />
      </Field>
      <Field label="Category" error={errors.category}>
        <input name="category" value={draft.category} onInput={edit("category")} autocomplete="off" />
      </Field>
      <Field label={`Price (${money.currency})`} error={errors.price}>
        <input
          name="price"
          value={draft.price}
          onInput={edit("price")}
          inputmode="decimal"
          autocomplete="off"
        />
      </Field>
      <Field label="Stock" error={errors.stock}>
        <input
          name="stock"
          value={draft.stock}
          onInput={edit("stock")}
          inputmode="numeric"
          autocomplete="off"
        />
      </Field>
      <Field label="Description" error={errors.description}>
        <textarea name="description" rows={3} value={draft.description} onInput={edit("description")} />
      </Field>
      <div class="actions">
        <button type="submit" class="primary" disabled={saving}>
          {product ? "Save changes" : "Create product"}
        </button>
        <button type="button" onClick={() => props.onCancel()}>
          Cancel
        </button>
      </div>
    </form>
  );
}
