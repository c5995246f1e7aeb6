/**
 * How the REST side places an order: a CreateOrder call of its own, or, when orders runs in
 * another process, in one OrderBatchService.CreateOrders call with the orders other callers placed
 * while the previous call was on its way (a call between processes costs far more CPU than the
 * order's own work: docs/architecture.md, "An order"). A lone order goes at once as CreateOrder.
 * In a batch, each order keeps what its call would have carried — its caller's Authorization,
 * request id, deadline (from the moment it was placed) and trace — and gets the answer or the
 * ConnectError its own call would have got, so its REST answer is the same.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { OrderBatchService } from "../gen/ecommerce/orders/v1/order_batch_service_pb.js";
import {
  type CreateOrderRequest,
  CreateOrderRequestSchema,
  type CreateOrderResponse,
  type OrderService,
} from "../gen/ecommerce/orders/v1/order_service_pb.js";
import { loneOrTogether } from "../platform/batching/index.js";
import {
  type RequestContext,
  type RequestTrace,
  thisRequestsTrace,
  traceparentOf,
} from "../platform/observability/index.js";
import { itemAnswers } from "../platform/rpc/index.js";
import { answerByDeadline } from "../platform/transport/index.js";
import { callOptionsFor } from "./call-options.js";

/** The most orders one CreateOrders call takes (its limit in order_batch_service.proto). */
const MAX_ORDERS_PER_CALL = 50;

/** Who places an order: what their own call would carry. */
export interface OrderCaller {
  /** Their Authorization header, passed on unchanged. */
  authorization: string | undefined;
  context: RequestContext;
}

export type PlaceOrder = (
  request: MessageInitShape<typeof CreateOrderRequestSchema>,
  caller: OrderCaller,
) => Promise<CreateOrderResponse>;

export interface OrderBatching {
  client: Client<typeof OrderBatchService>;
  /** The Authorization header of this process's service credential (CreateOrders is internal). */
  credential: () => Promise<string>;
  /** How long a caller waits for their order (RPC_TIMEOUT_MS), from the moment it is placed. */
  timeoutMs: number;
}

/** One order waiting for its call. */
interface PendingOrder {
  request: CreateOrderRequest;
  caller: OrderCaller;
  /** Date.now() by which its caller gives up. */
  deadline: number;
  /** The caller's trace: a lone call continues it; in a batch, orders continues it, linked. */
  trace: RequestTrace | undefined;
}

/** Orders one at a time (`batching` undefined: orders runs in this process), or batched. */
export function orderPlacement(orders: Client<typeof OrderService>, batching?: OrderBatching): PlaceOrder {
  if (batching === undefined)
    return (request, caller) =>
      orders.createOrder(request, callOptionsFor(caller.authorization, caller.context));
  const { client, credential, timeoutMs } = batching;

  const place = loneOrTogether<PendingOrder, CreateOrderResponse>({
    alone: ({ request, caller, deadline }) =>
      orders.createOrder(request, {
        ...callOptionsFor(caller.authorization, caller.context),
        timeoutMs: Math.max(1, deadline - Date.now()),
      }),
    together: async (pending) => {
      const now = Date.now();
      const left = pending.map(({ deadline }) => Math.max(1, deadline - now));
      const { outcomes } = await client.createOrders(
        {
          orders: pending.map(({ request, caller, trace }, index) => ({
            request,
            authorization: caller.authorization ?? "",
            requestId: caller.context.requestId,
            timeoutMs: left[index],
            traceparent: (trace && traceparentOf(trace.context)) ?? "",
          })),
        },
        { headers: { authorization: await credential() }, timeoutMs: Math.max(...left) },
      );
      // An order without an outcome fails: not known to be created, as after a lost call.
      return itemAnswers(pending, outcomes, "created");
    },
    spanName: "create orders for several callers",
    maxBatch: MAX_ORDERS_PER_CALL,
  });

  return (request, caller) =>
    answerByDeadline(
      place({
        request: create(CreateOrderRequestSchema, request),
        caller,
        deadline: Date.now() + timeoutMs,
        trace: thisRequestsTrace(),
      }),
      timeoutMs,
    );
}
