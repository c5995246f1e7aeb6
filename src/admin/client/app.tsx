/**
 * The admin UI: sign-in, the "admins only" page for any other token, and for an admin the views
 * behind hash routes (#/products, #/orders, #/discounts, #/statistics), with one live stream of
 * order events shared by the views that show orders.
 */
import { useEffect, useMemo, useState } from "hono/jsx/dom";
import { ApiError, createApi } from "./api.js";
import { DiscountsView } from "./discounts-view.js";
import { followLiveOrders, type LiveState } from "./live-orders.js";
import { moneyIn } from "./money.js";
import { OrdersView } from "./orders-view.js";
import { ProductsView } from "./products-view.js";
import { forgetToken, keepToken, takeToken, tokenSubject } from "./session.js";
import { liveOrdersHub, type Shop, ShopContext } from "./shop-context.js";
import { StatisticsView } from "./statistics-view.js";
import { inputValue, Notice } from "./ui.js";

type Access = "checking" | "admin" | "not-admin" | { problem: string };

const VIEWS = {
  products: { title: "Products", View: ProductsView },
  orders: { title: "Orders", View: OrdersView },
  discounts: { title: "Discounts", View: DiscountsView },
  statistics: { title: "Statistics", View: StatisticsView },
} as const;

type ViewName = keyof typeof VIEWS;

function currentView(): ViewName {
  const name = location.hash.replace(/^#\/?/, "").split("/")[0] ?? "";
  return name in VIEWS ? (name as ViewName) : "products";
}

export function App(props: { currency: string }) {
  const [token, setToken] = useState<string | undefined>(takeToken());
  const [access, setAccess] = useState<Access>("checking");

  useEffect(() => {
    if (token === undefined) return;
    setAccess("checking");
    // The answer about a token signed out of meanwhile is dropped.
    let current = true;
    // An admin-only read decides: the API, not the token's claims, says what the token may do.
    createApi(token)
      .get("/stats/user")
      .then(
        () => current && setAccess("admin"),
        (error: unknown) => {
          if (!current) return;
          if (error instanceof ApiError && error.status === 403) setAccess("not-admin");
          else if (error instanceof ApiError && error.status === 401)
            setAccess({
              problem: "This token was refused: it is malformed, expired or signed with another secret.",
            });
          else setAccess({ problem: (error as Error).message });
        },
      );
    return () => {
      current = false;
    };
  }, [token]);

  const signIn = (value: string) => {
    keepToken(value);
    setToken(value);
  };
  const signOut = () => {
    forgetToken();
    setToken(undefined);
    setAccess("checking");
  };

  if (token === undefined) return <SignIn onSignIn={signIn} />;
  if (typeof access === "object") return <SignIn onSignIn={signIn} problem={access.problem} />;
  if (access === "checking") return <p class="booting">Signing in…</p>;
  if (access === "not-admin") return <AdminsOnly subject={tokenSubject(token)} onSignOut={signOut} />;
  return <SignedIn token={token} currency={props.currency} onSignOut={signOut} />;
}

function SignedIn(props: { token: string; currency: string; onSignOut(): void }) {
  const [view, setView] = useState<ViewName>(currentView());
  const [liveState, setLiveState] = useState<LiveState>("connecting");
  const hub = useMemo(() => liveOrdersHub(), []);
  const shop = useMemo<Shop>(
    () => ({ api: createApi(props.token), money: moneyIn(props.currency), live: hub }),
    [props.token, props.currency],
  );

  useEffect(() => {
    const onHash = () => setView(currentView());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);

  useEffect(
    () =>
      followLiveOrders(props.token, {
        onEvent: (event) => hub.publish(event),
        onState: (state) => {
          setLiveState(state);
          if (state === "live") hub.publish("reconnected");
        },
      }),
    [props.token],
  );

  const { View } = VIEWS[view];
  return (
    <ShopContext.Provider value={shop}>
      <header class="top">
        <a class="brand" href="#/products">
          Shop admin
        </a>
        <nav aria-label="Sections">
          {(Object.keys(VIEWS) as ViewName[]).map((name) => (
            <a
              href={`#/${name}`}
              class={name === view ? "current" : ""}
              aria-current={name === view ? "page" : undefined}
            >
              {VIEWS[name].title}
            </a>
          ))}
        </nav>
        <span class={`live live-${liveState}`} title="Live order events">
          {liveState === "live" ? "● live" : liveState === "refused" ? "○ live off" : "○ connecting"}
        </span>
        <span class="who muted">{tokenSubject(props.token) ?? "admin"}</span>
        <button type="button" class="small" onClick={() => props.onSignOut()}>
          Sign out
        </button>
      </header>
      <main>
        <View key={view} />
      </main>
    </ShopContext.Provider>
  );
}

function SignIn(props: { onSignIn(token: string): void; problem?: string }) {
  const [value, setValue] = useState("");
  return (
    <main class="narrow">
      <form
        class="panel sign-in"
        aria-label="Sign in"
        onSubmit={(event: Event) => {
          event.preventDefault();
          if (value.trim() !== "") props.onSignIn(value.trim());
        }}
      >
        <h1>Shop admin</h1>
        <Notice error={props.problem} />
        <p>
          Sign in with an admin token: <code>npm start</code> prints a link that signs in directly, and{" "}
          <code>npm run token -- --sub admin --role admin</code> mints one.
        </p>
        <label class="field">
          <span class="field-label">Bearer token</span>
          <textarea name="token" rows={4} value={value} onInput={(e: Event) => setValue(inputValue(e))} />
        </label>
        <div class="actions">
          <button type="submit" class="primary">
            Sign in
          </button>
        </div>
      </form>
    </main>
  );
}

function AdminsOnly(props: { subject: string | undefined; onSignOut(): void }) {
  return (
    <main class="narrow">
      <section class="panel admins-only" aria-label="Admins only">
        <h1>Admins only</h1>
        <p>
          You are signed in{props.subject === undefined ? "" : ` as ${props.subject}`}, but this token is not
          an admin's. The admin UI runs the shop: it needs a token with the admin role.
        </p>
        <div class="actions">
          <button type="button" class="primary" onClick={() => props.onSignOut()}>
            Sign in with another token
          </button>
        </div>
      </section>
    </main>
  );
}
