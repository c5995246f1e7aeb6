/**
 * The moves the API allows from each status (API reference, "Allowed status changes"): the only
 * buttons an order shows. The API refuses any other move anyway; this keeps them off the screen.
 */
import type { OrderStatus } from "./api-types.js";

export const NEXT_STATUSES: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: ["paid", "cancelled"],
  paid: ["shipped", "cancelled"],
  shipped: ["delivered"],
  delivered: [],
  cancelled: [],
};

/** The button's words for moving to `status`. */
export const MOVE_LABELS: Readonly<Record<OrderStatus, string>> = {
  pending: "Mark pending",
  paid: "Mark paid",
  shipped: "Mark shipped",
  delivered: "Mark delivered",
  cancelled: "Cancel order",
};
