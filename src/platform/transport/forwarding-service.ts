/**
 * Serves a service this process does not host by calling the process that does: every method
 * passes on the request, the caller's Authorization header, deadline, abort signal and request
 * context (its id, sent as x-request-id), and answers with what that process answered, errors
 * included (code, message, details). So a process hosting the gateway serves every public module
 * service on its one port, in Connect, gRPC and gRPC-Web, whether the module runs here or behind
 * its *_URL.
 */
import type { DescService } from "@bufbuild/protobuf";
import {
  type CallOptions,
  type Client,
  ConnectError,
  type ConnectRouter,
  type HandlerContext,
  type ServiceImpl,
} from "@connectrpc/connect";

type UnaryCall = (request: unknown, options: CallOptions) => Promise<unknown>;

export function forwardService<S extends DescService>(
  router: ConnectRouter,
  service: S,
  client: Client<S>,
): void {
  const methods: Record<string, (request: unknown, context: HandlerContext) => Promise<unknown>> = {};
  for (const method of service.methods) {
    const call = (client as unknown as Record<string, UnaryCall>)[method.localName] as UnaryCall;
    methods[method.localName] = async (request, context) => {
      const authorization = context.requestHeader.get("authorization");
      try {
        return await call(request, {
          headers: authorization === null ? undefined : { authorization },
          signal: context.signal,
          timeoutMs: context.timeoutMs(),
          contextValues: context.values,
        });
      } catch (error) {
        // The remote response's headers (content type and length, …) are not this response's.
        const remote = ConnectError.from(error);
        const answer = new ConnectError(remote.rawMessage, remote.code);
        answer.details.push(...remote.details);
        throw answer;
      }
    };
  }
  router.service(service, methods as Partial<ServiceImpl<S>>);
}
