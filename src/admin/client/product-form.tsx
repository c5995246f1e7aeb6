/**
 * Creates or edits a product. The API validates; its per-field errors are shown beside the field
 * they name. Only an amount the form cannot read as money is refused here, before sending.
 */
import { useState } from "hono/jsx/dom";
import { type FormErrors, formErrors } from "./api.js";
import type { Product } from "./api-types.js";
import { useShop } from "./shop-context.js";
import { Field, FormActions, inputValue, Notice, TextField } from "./ui.js";

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
  const [errors, setErrors] = useState<FormErrors<keyof Draft>>({ fields: {} });
  const [saving, setSaving] = useState(false);
  const edit = (field: keyof Draft) => (value: string) => setDraft({ ...draft, [field]: value });

  const submit = async (event: Event) => {
    event.preventDefault();
    const priceCents = money.parse(draft.price);
    const stock = /^-?\d+$/.test(draft.stock.trim()) ? Number(draft.stock.trim()) : undefined;
    const local: Partial<Record<keyof Draft, string>> = {};
    if (priceCents === undefined) local.price = `Enter an amount such as 12.99 (${money.currency})`;
    if (stock === undefined) local.stock = "Enter a whole number of units";
    if (priceCents === undefined || stock === undefined) {
      setErrors({ fields: local });
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
    } catch (failure) {
      setErrors(formErrors(failure, API_FIELDS));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form class="panel product-form" onSubmit={submit} aria-label={product ? "Edit product" : "New product"}>
      <h2>{product ? `Edit “${product.name}”` : "New product"}</h2>
      <Notice error={errors.form} />
      <TextField
        label="Name"
        name="name"
        value={draft.name}
        onValue={edit("name")}
        error={errors.fields.name}
      />
      <TextField
        label="Category"
        name="category"
        value={draft.category}
        onValue={edit("category")}
        error={errors.fields.category}
      />
      <TextField
        label={`Price (${money.currency})`}
        name="price"
        value={draft.price}
        onValue={edit("price")}
        error={errors.fields.price}
        inputmode="decimal"
      />
      <TextField
        label="Stock"
        name="stock"
        value={draft.stock}
        onValue={edit("stock")}
        error={errors.fields.stock}
        inputmode="numeric"
      />
      <Field label="Description" error={errors.fields.description}>
        <textarea
          name="description"
          rows={3}
          value={draft.description}
          onInput={(event: Event) => edit("description")(inputValue(event))}
        />
      </Field>
      <FormActions
        submit={product ? "Save changes" : "Create product"}
        disabled={saving}
        onCancel={() => props.onCancel()}
      />
    </form>
  );
}
