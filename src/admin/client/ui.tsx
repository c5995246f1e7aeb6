/** Small pieces every view uses: fields with their error, notices, paging, times, status badges. */
import type { Child } from "hono/jsx";
import { useEffect, useRef, useState } from "hono/jsx/dom";
import type { OrderStatus } from "./api-types.js";

export function Field(props: { label: string; error?: string; hint?: string; children: Child }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is the child every caller passes.
    <label class={props.error === undefined ? "field" : "field invalid"}>
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.error !== undefined && (
        <span class="field-error" role="alert">
          {props.error}
        </span>
      )}
      {props.hint !== undefined && props.error === undefined && <span class="field-hint">{props.hint}</span>}
    </label>
  );
}

/** A labelled one-line input with its error: the form field every view uses. */
export function TextField(props: {
  label: string;
  name: string;
  value: string;
  onValue(value: string): void;
  error?: string;
  type?: "text" | "search" | "datetime-local";
  inputmode?: "decimal" | "numeric";
  placeholder?: string;
}) {
  return (
    <Field label={props.label} error={props.error}>
      <input
        type={props.type ?? "text"}
        name={props.name}
        value={props.value}
        inputmode={props.inputmode}
        placeholder={props.placeholder}
        autocomplete="off"
        onInput={(event: Event) => props.onValue(inputValue(event))}
      />
    </Field>
  );
}

/** A form's submit button and its Cancel. */
export function FormActions(props: { submit: string; disabled?: boolean; onCancel(): void }) {
  return (
    <div class="actions">
      <button type="submit" class="primary" disabled={props.disabled}>
        {props.submit}
      </button>
      <button type="button" onClick={() => props.onCancel()}>
        Cancel
      </button>
    </div>
  );
}

/** Figures side by side, each named; `data-total` carries its API field for readers and tests. */
export function Totals(props: {
  items: readonly { label: string; field: string; value: string | number }[];
  compact?: boolean;
}) {
  return (
    <dl class={props.compact ? "totals compact" : "totals"}>
      {props.items.map((item) => (
        <div>
          <dt>{item.label}</dt>
          <dd data-total={item.field}>{item.value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Notice(props: { error?: string; success?: string }) {
  if (props.error !== undefined)
    return (
      <p class="notice error" role="alert">
        {props.error}
      </p>
    );
  if (props.success !== undefined)
    return (
      <p class="notice success" role="status">
        {props.success}
      </p>
    );
  return null;
}

/** The value of the input an event came from. */
export function inputValue(event: Event): string {
  return (event.target as HTMLInputElement).value;
}

export function inputChecked(event: Event): boolean {
  return (event.target as HTMLInputElement).checked;
}

/**
 * Token paging: the API gives the next page's token; going back walks the tokens already seen.
 * A new `filterKey` (the filters changed) starts again from the first page, in the same render.
 */
export function usePaging(filterKey = ""): {
  token: string;
  next(token: string): void;
  previous(): void;
  hasPrevious: boolean;
  page: number;
} {
  const [state, setState] = useState<{ key: string; tokens: string[] }>({ key: filterKey, tokens: [""] });
  const tokens = state.key === filterKey ? state.tokens : [""];
  // Forget the old filter's pages, so that going back to it starts on its first page too.
  useEffect(() => {
    if (state.key !== filterKey) setState({ key: filterKey, tokens: [""] });
  }, [filterKey]);
  return {
    token: tokens[tokens.length - 1] ?? "",
    page: tokens.length,
    hasPrevious: tokens.length > 1,
    next: (nextToken) => setState({ key: filterKey, tokens: [...tokens, nextToken] }),
    previous: () => setState({ key: filterKey, tokens: tokens.slice(0, -1) }),
  };
}

/**
 * A list page: the table (scrolling sideways on a narrow screen), a line when it is empty, and
 * the pager. `head` is the header row, `children` the body rows.
 */
export function PagedTable(props: {
  name: string;
  head: Child;
  children: Child;
  empty: string | false;
  paging: ReturnType<typeof usePaging>;
  nextToken: string | undefined;
}) {
  return (
    <>
      <div class="table-wrap">
        <table class={props.name}>
          <thead>{props.head}</thead>
          <tbody>{props.children}</tbody>
        </table>
        {props.empty !== false && <p class="empty">{props.empty}</p>}
      </div>
      <Pager paging={props.paging} nextToken={props.nextToken} />
    </>
  );
}

export function Pager(props: { paging: ReturnType<typeof usePaging>; nextToken: string | undefined }) {
  const { paging, nextToken } = props;
  if (!paging.hasPrevious && !nextToken) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={!paging.hasPrevious} onClick={() => paging.previous()}>
        ← Previous
      </button>
      <span>Page {paging.page}</span>
      <button type="button" disabled={!nextToken} onClick={() => nextToken && paging.next(nextToken)}>
        Next →
      </button>
    </nav>
  );
}

const TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : TIME.format(date);
}

export function StatusBadge(props: { status: OrderStatus }) {
  return <span class={`badge status-${props.status}`}>{props.status}</span>;
}

/** `value`, settled for `ms` without change: a search box that does not query on every key. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** The first characters of an id: enough to tell orders apart on screen. */
export function shortId(id: string): string {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id;
}

/**
 * A version number and a function that bumps it at most once per `ms`: a burst of live events
 * becomes one refetch, not one per event.
 */
export function useCoalescedRefresh(ms: number): [number, () => void] {
  const [version, setVersion] = useState(0);
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(pending.current), []);
  const bump = () => {
    if (pending.current !== undefined) return;
    pending.current = setTimeout(() => {
      pending.current = undefined;
      setVersion((value: number) => value + 1);
    }, ms);
  };
  return [version, bump];
}

/**
 * What `load` resolves to, loaded again whenever `deps` change; the answer to a load that has been
 * superseded meanwhile is dropped, so a slow page never overwrites a newer one.
 */
export function useLoaded<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { value: T | undefined; error: string | undefined; setError(error: string | undefined): void } {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let current = true;
    load().then(
      (loaded) => {
        if (!current) return;
        setValue(loaded);
        setError(undefined);
      },
      (failure: Error) => {
        if (current) setError(failure.message);
      },
    );
    return () => {
      current = false;
    };
  }, deps);
  return { value, error, setError };
}
