/**
 * OrderBatchService.CreateOrders: many callers' orders in one internal call (the gateway's, when
 * this module runs in another process). Each order runs through CreateOrder's own handler, as its
 * caller's call would have: with the caller's Authorization, request id, deadline and trace, and
 * its failure logged as CreateOrder's. The orders run concurrently; one's failure is its answer
 * alone.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type {
  CallerOrder,
  CreateOrderOutcome,
  OrderBatchService,
} from "../../gen/ecommerce/orders/v1/order_batch_service_pb.js";
import { CreateOrderOutcomeSchema } from "../../gen/ecommerce/orders/v1/order_batch_service_pb.js";
import {
  CreateOrderRequestSchema,
  CreateOrderResponseSchema,
  OrderService,
} from "../../gen/ecommerce/orders/v1/order_service_pb.js";
import type { Authenticator } from "../../platform/auth/index.js";
import { reportHandlerFailure } from "../../platform/errors/index.js";
import type { Logger } from "../../platform/logger.js";
import { requestContextValues, traceBatchItem, traceIdOf } from "../../platform/observability/index.js";
import { invalidArgument, requestIdFrom, toItemError } from "../../platform/rpc/index.js";
import { batchItemCall } from "../../platform/transport/index.js";
import type { OrderRpc } from "./order-handlers.js";

/** The most orders one CreateOrders call takes (its limit in order_batch_service.proto). */
const MAX_ORDERS_PER_CALL = 50;

/** What a header value may not hold (a Headers object refuses it); no real request carries it. */
const NOT_A_HEADER_VALUE = /[\0\r\n]/;

export function createOrdersHandler(
  deps: { auth: Authenticator; logger: Logger },
  createOrder: OrderRpc<"createOrder">,
): ServiceImpl<typeof OrderBatchService>["createOrders"] {
  const { auth, logger } = deps;

  const placeOne = async (order: CallerOrder, batch: HandlerContext): Promise<CreateOrderOutcome> => {
    const traceparent = order.traceparent === "" ? undefined : order.traceparent;
    const requestHeader = new Headers();
    const item = batchItemCall(batch, {
      method: OrderService.method.createOrder,
      requestHeader,
      values: requestContextValues({
        requestId: requestIdFrom(order.requestId),
        traceId: traceIdOf(traceparent),
      }),
      timeoutMs: order.timeoutMs,
    });
    try {
      if (order.authorization !== "") {
        if (NOT_A_HEADER_VALUE.test(order.authorization)) {
          throw new ConnectError('authorization header must be "Bearer <token>"', Code.Unauthenticated);
        }
        requestHeader.set("authorization", order.authorization);
      }
      const created = await traceBatchItem(traceparent, item.context, batch, async () =>
        createOrder(order.request ?? create(CreateOrderRequestSchema), item.context),
      );
      return create(CreateOrderOutcomeSchema, {
        outcome: { case: "created", value: create(CreateOrderResponseSchema, created) },
      });
    } catch (thrown) {
      const error = reportHandlerFailure(logger, thrown, item.context);
      return create(CreateOrderOutcomeSchema, { outcome: { case: "failed", value: toItemError(error) } });
    } finally {
      item.end();
    }
  };

  return async (request, context) => {
    await auth.requireService(context);
    if (request.orders.length === 0 || request.orders.length > MAX_ORDERS_PER_CALL) {
      throw invalidArgument([
        {
          field: "orders",
          message: `must hold 1–${MAX_ORDERS_PER_CALL} orders, not ${request.orders.length}`,
        },
      ]);
    }
    return { outcomes: await Promise.all(request.orders.map((order) => placeOne(order, context))) };
  };
}
