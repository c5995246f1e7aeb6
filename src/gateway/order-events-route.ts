/**
 * GET /orders/events (admin): new orders and status changes as they happen, as server-sent events,
 * for the admin UI's live view. The orders module streams them (WatchOrders, a server stream over
 * Connect, so the split works unchanged); this route turns that stream into text/event-stream.
 * docs/api.md, "Live order events", is the contract; docs/architecture.md says why SSE.
 *
 * Refusals come before the stream starts, as problem+json like every route's: the module's first,
 * empty message says the caller is allowed and the watch is in place, and only then is the 200
 * sent. The stream ends, cleanly, at the watch's deadline (LONGEST_STREAM_MS), when the client goes
 * away (which ends the module's watch), when this process starts stopping, and when the module's
 * stream ends (its process stopping, or this client reading too slowly).
 */
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { OrderService, WatchOrdersResponse } from "../gen/ecommerce/orders/v1/order_service_pb.js";
import { linkedSignal } from "../platform/linked-signal.js";
import type { Logger } from "../platform/logger.js";
import { LONGEST_STREAM_MS } from "../platform/rpc/index.js";
import { callOptions } from "./call-options.js";
import { eventStreamResponse, type ServerSentEvent } from "./event-stream.js";
import { orderEventOf } from "./order-event-json.js";
import { OrderCreatedEventSchema, OrderStatusChangedEventSchema } from "./order-schemas.js";
import { errorResponses } from "./route-helpers.js";

/** docs/api.md: a keep-alive comment every 15 s, a reconnect after 2 s. */
const KEEP_ALIVE_MS = 15_000;
const RETRY_MS = 2_000;

/** How a module stream ends that says nothing is wrong: its deadline, a going away, a stop, a slow reader. */
const ORDINARY_ENDS = new Set([
  Code.DeadlineExceeded,
  Code.Canceled,
  Code.Unavailable,
  Code.ResourceExhausted,
]);

/** What a client reads, for the OpenAPI document. */
const EXAMPLE_STREAM = [
  "retry: 2000",
  "event: ready",
  "data: {}",
  "",
  "event: order.created",
  'data: {"order_id":"0190f3c4-…","user_id":"alice","status":"pending","subtotal_cents":2598,"discount_cents":0,"total_cents":2598,"item_count":2,"created_at":"2025-07-01T12:00:00.000Z"}',
  "",
  ": keep-alive",
  "",
  "event: order.status_changed",
  'data: {"order_id":"0190f3c4-…","user_id":"alice","from":"pending","to":"paid","total_cents":2598,"created_at":"2025-07-01T12:00:00.000Z","changed_at":"2025-07-01T12:01:30.000Z"}',
  "",
].join("\n");

const orderEventsRoute = createRoute({
  method: "get",
  path: "/orders/events",
  tags: ["orders"],
  security: [{ bearerAuth: [] }],
  summary: "New orders and status changes, live, as server-sent events (admin)",
  description: [
    "A `text/event-stream` (server-sent events) that starts with `retry: 2000` and `event: ready`",
    "(`data: {}`) as soon as the watch is in place, then sends `event: order.created` (data: an",
    "OrderCreatedEvent) for each new order and `event: order.status_changed` (data: an",
    "OrderStatusChangedEvent) for each status change, in the order they happened, from the moment",
    "of `ready` on; a `: keep-alive` comment line every 15 s. The stream ends after at most 5",
    "minutes, and earlier when the server stops or the client reads too slowly: reconnect (after",
    "`retry`) and list the orders again for what happened in between. Send the bearer token in",
    "the Authorization header (read the stream with fetch: EventSource cannot send it); tokens in",
    "URLs are not accepted. Refusals (401, 403) are problem+json, before the stream starts.",
  ].join(" "),
  responses: {
    200: {
      content: { "text/event-stream": { schema: z.string().openapi({ example: EXAMPLE_STREAM }) } },
      description: "The event stream",
    },
    ...errorResponses(401, 403, 503),
  },
});

export interface OrderEventsOptions {
  /** Aborted when this process starts stopping: every open stream ends then. */
  stopping: AbortSignal;
  logger: Logger;
}

/**
 * Registers GET /orders/events. Call it before the order routes, so that GET /orders/{id} does not
 * take `events` for an id.
 */
export function registerOrderEventsRoute(
  app: OpenAPIHono,
  orders: Client<typeof OrderService>,
  { stopping, logger }: OrderEventsOptions,
): void {
  app.openAPIRegistry.register("OrderCreatedEvent", OrderCreatedEventSchema);
  app.openAPIRegistry.register("OrderStatusChangedEvent", OrderStatusChangedEventSchema);

  app.openapi(orderEventsRoute, async (c) => {
    const watch = new AbortController();
    // The module's watch ends with the client (gone before the stream started, too) or the process;
    // released when the stream ends, so the long-lived `stopping` keeps nothing per request.
    const ended = linkedSignal([watch.signal, c.req.raw.signal, stopping]);
    const messages = orders
      .watchOrders({}, { ...callOptions(c), timeoutMs: LONGEST_STREAM_MS, signal: ended.signal })
      [Symbol.asyncIterator]();
    // Refused (401, 403), or the module cannot watch now (503): thrown here, answered as problem+json.
    const first = await messages.next().catch((error: unknown) => {
      ended.release();
      throw stopping.aborted ? serverStopping() : error;
    });
    if (first.done) {
      ended.release();
      throw serverStopping();
    }
    return eventStreamResponse(orderEvents(messages), {
      keepAliveMs: KEEP_ALIVE_MS,
      retryMs: RETRY_MS,
      onEnd: (error) => {
        watch.abort();
        ended.release();
        const code = error === undefined ? undefined : ConnectError.from(error).code;
        if (code !== undefined && !ORDINARY_ENDS.has(code)) {
          logger.warn({ err: error }, "an order event stream ended on a failure");
        }
      },
    });
  });
}

/** The SSE events of a WatchOrders stream after its first message. */
async function* orderEvents(messages: AsyncIterator<WatchOrdersResponse>): AsyncGenerator<ServerSentEvent> {
  for (let next = await messages.next(); !next.done; next = await messages.next()) {
    const event = orderEventOf(next.value);
    if (event !== undefined) yield event;
  }
}

function serverStopping(): ConnectError {
  return new ConnectError("the server is stopping; connect again", Code.Unavailable);
}
