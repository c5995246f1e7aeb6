/** The REST API's JSON, as the admin UI reads it (API reference: GET /docs). Money is integer cents. */

export interface Product {
  id: string;
  name: string;
  description: string;
  category: string;
  price_cents: number;
  stock: number;
  created_at: string;
  updated_at: string;
}

export interface ProductPage {
  products: Product[];
  next_page_token: string;
}

export type OrderStatus = "pending" | "paid" | "shipped" | "delivered" | "cancelled";

export const ORDER_STATUSES: readonly OrderStatus[] = [
  "pending",
  "paid",
  "shipped",
  "delivered",
  "cancelled",
];

export interface OrderItem {
  product_id: string;
  product_name: string;
  quantity: number;
  unit_price_cents: number;
  discount_cents: number;
  line_total_cents: number;
}

export interface Order {
  id: string;
  user_id: string;
  status: OrderStatus;
  items: OrderItem[];
  subtotal_cents: number;
  discount_cents: number;
  total_cents: number;
  created_at: string;
  updated_at: string;
}

export interface OrderPage {
  orders: Order[];
  next_page_token: string;
}

export interface Discount {
  id: string;
  name: string;
  description: string;
  percent_off: number;
  product_ids: string[];
  starts_at: string;
  ends_at: string;
  active: boolean;
  created_at: string;
}

export interface DiscountPage {
  discounts: Discount[];
  next_page_token: string;
}

export interface Review {
  id: string;
  product_id: string;
  user_id: string;
  rating: number;
  comment: string;
  verified_purchase: boolean;
  created_at: string;
  updated_at: string;
}

export interface ReviewPage {
  reviews: Review[];
  next_page_token: string;
  average_rating: number;
  review_count: number;
}

export interface HourCount {
  hour: number;
  count: number;
}

export interface StoreStatistics {
  total_users: number;
  total_products: number;
  total_orders: number;
  revenue_cents: number;
}

export interface StoreOrdersByHour {
  orders_by_hour: HourCount[];
}

export interface UserOrderStatistics {
  user_id: string;
  total_orders: number;
  orders_by_hour: HourCount[];
  cancelled_orders: number;
  total_spent_cents: number;
}

/** `GET /orders/events`: what each server-sent event carries. */
export type OrderEvent =
  | {
      type: "order.created";
      order_id: string;
      user_id: string;
      status: OrderStatus;
      total_cents: number;
      item_count: number;
      created_at: string;
    }
  | {
      type: "order.status_changed";
      order_id: string;
      user_id: string;
      from: OrderStatus;
      to: OrderStatus;
      total_cents: number;
      changed_at: string;
    };
