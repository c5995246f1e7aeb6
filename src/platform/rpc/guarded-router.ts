/**
 * The server side of every module service, whatever the protocol or transport: a ConnectRouter
 * that wraps each unary method before registering it, so that
 * - a request holding malformed text (NUL, unpaired surrogate) is `invalid_argument` naming the
 *   field, before the method runs (see malformed-text.ts);
 * - what the method throws reaches the caller as a public error: a caller's mistake unchanged, a
 *   server failure as its code and a fixed message, logged here once with its cause, the RPC and
 *   the request id, which also goes back in the `x-request-id` header (see public-error.ts).
 * Modules register services on it as on any router and need not repeat any of this.
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext, MethodImpl, ServiceImpl } from "@connectrpc/connect";
import type { UniversalHandlerOptions } from "@connectrpc/connect/protocol";
import { isServerFailure, reportFailure } from "../errors/public-error.js";
import type { Logger } from "../logger.js";
import { invalidArgument } from "./errors.js";
import { findMalformedText } from "./malformed-text.js";
import { REQUEST_ID_HEADER, requestIdFrom } from "./request-id.js";

export interface GuardOptions {
  logger: Logger;
  /**
   * Check request text. Off for services forwarded to the process that hosts them, which checks
   * it itself.
   */
  checkText: boolean;
}

export function guardedRouter(router: ConnectRouter, options: GuardOptions): ConnectRouter {
  const guarded: ConnectRouter = {
    get handlers() {
      return router.handlers;
    },
    service<T extends DescService>(
      service: T,
      implementation: Partial<ServiceImpl<T>>,
      handlerOptions?: Partial<UniversalHandlerOptions>,
    ) {
      const wrapped: Record<string, unknown> = { ...implementation };
      for (const method of service.methods) {
        const impl = (implementation as Record<string, unknown>)[method.localName];
        if (typeof impl === "function")
          wrapped[method.localName] = guardMethod(method, impl as Unary, options);
      }
      router.service(service, wrapped as Partial<ServiceImpl<T>>, handlerOptions);
      return guarded;
    },
    rpc<M extends DescMethod>(
      method: M,
      impl: MethodImpl<M>,
      handlerOptions?: Partial<UniversalHandlerOptions>,
    ) {
      router.rpc(
        method,
        guardMethod(method, impl as unknown as Unary, options) as unknown as MethodImpl<M>,
        handlerOptions,
      );
      return guarded;
    },
  };
  return guarded;
}

type Unary = (request: never, context: HandlerContext) => unknown;

function guardMethod(method: DescMethod, impl: Unary, options: GuardOptions): Unary {
  if (method.methodKind !== "unary") return impl;
  const operation = `/${method.parent.typeName}/${method.name}`;
  const fail = (thrown: unknown, context: HandlerContext) => {
    const requestId = requestIdFrom(context.requestHeader.get(REQUEST_ID_HEADER));
    const error = reportFailure(options.logger, thrown, { operation, requestId });
    if (isServerFailure(error.code)) error.metadata.set(REQUEST_ID_HEADER, requestId);
    return error;
  };
  return (request, context) => {
    if (options.checkText) {
      const field = findMalformedText(method.input, request);
      if (field !== undefined) {
        throw invalidArgument([{ field, message: "must not contain NUL characters or unpaired surrogates" }]);
      }
    }
    let result: unknown;
    try {
      result = impl(request, context);
    } catch (error) {
      throw fail(error, context);
    }
    // A method that answers synchronously (a warm cache read) stays synchronous.
    if (!(result instanceof Promise)) return result;
    return result.catch((error: unknown) => {
      throw fail(error, context);
    });
  };
}
