/**
 * A ConnectRouter that checks the text of every request before the method runs, whatever the
 * protocol or transport: a NUL or an unpaired surrogate in any string of the request message is
 * `invalid_argument` naming the field (see malformed-text.ts). Modules register services on it as
 * on any router and need not repeat the check. The check is synchronous and adds no promise to a
 * call (a warm cache read stays as cheap as it was); what a method throws is turned into a public
 * error where errors are caught anyway (see reportHandlerFailure).
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext, MethodImpl, ServiceImpl } from "@connectrpc/connect";
import type { UniversalHandlerOptions } from "@connectrpc/connect/protocol";
import { invalidArgument } from "./errors.js";
import { compileMalformedTextCheck } from "./malformed-text.js";

export function textCheckingRouter(router: ConnectRouter): ConnectRouter {
  const checking: ConnectRouter = {
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
        if (typeof impl === "function") wrapped[method.localName] = checkingText(method, impl as Unary);
      }
      router.service(service, wrapped as Partial<ServiceImpl<T>>, handlerOptions);
      return checking;
    },
    rpc<M extends DescMethod>(
      method: M,
      impl: MethodImpl<M>,
      handlerOptions?: Partial<UniversalHandlerOptions>,
    ) {
      router.rpc(
        method,
        checkingText(method, impl as unknown as Unary) as unknown as MethodImpl<M>,
        handlerOptions,
      );
      return checking;
    },
  };
  return checking;
}

type Unary = (request: never, context: HandlerContext) => unknown;

function checkingText(method: DescMethod, impl: Unary): Unary {
  if (method.methodKind !== "unary") return impl;
  const findMalformedText = compileMalformedTextCheck(method.input);
  return (request, context) => {
    const field = findMalformedText(request);
    if (field !== undefined) {
      throw invalidArgument([{ field, message: "must not contain NUL characters or unpaired surrogates" }]);
    }
    return impl(request, context);
  };
}
