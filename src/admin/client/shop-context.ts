/** What every view of the signed-in UI shares: the API, the store's money, the live order events. */
import { createContext, useContext, useEffect, useRef } from "hono/jsx/dom";
import type { Api } from "./api.js";
import type { OrderEvent } from "./api-types.js";
import type { Money } from "./money.js";

export interface LiveOrders {
  /** Calls `listener` with each order event and on each (re)connection; returns the unsubscribe. */
  subscribe(listener: (event: OrderEvent | "reconnected") => void): () => void;
}

export interface Shop {
  api: Api;
  money: Money;
  live: LiveOrders;
}

export const ShopContext = createContext<Shop | undefined>(undefined);

export function useShop(): Shop {
  const shop = useContext(ShopContext);
  if (shop === undefined) throw new Error("useShop outside the signed-in UI");
  return shop;
}

/**
 * Runs `onChange` on every order event and reconnection while the calling view is shown. One
 * subscription for the view's life, calling the latest `onChange`: events of one burst arrive
 * before the view re-renders, so a handler that resubscribed per render would miss them.
 */
export function useLiveOrders(onChange: (event: OrderEvent | "reconnected") => void): void {
  const { live } = useShop();
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => live.subscribe((event) => latest.current(event)), [live]);
}

/** A fan-out of one stream to the views that listen. */
export function liveOrdersHub(): LiveOrders & { publish(event: OrderEvent | "reconnected"): void } {
  const listeners = new Set<(event: OrderEvent | "reconnected") => void>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    publish(event) {
      for (const listener of listeners) listener(event);
    },
  };
}
