/**
 * Serves a service this process does not host by calling the process that does: every method
 * passes on the request, the caller's Authorization header, deadline, abort signal and request
 * context (its id, sent as x-request-id), and answers with what that process answered, errors
 * included (code, message, details). So a process hosting the gateway serves every public module
 * service on its one port, in Connect, gRPC and gRPC-Web, whether the module runs here or behind
 * its *_URL.
 *
 * Unary calls and server streams are forwarded; a server stream message by message, as it comes.
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  type CallOptions,
  type Client,
  ConnectError,
  type ConnectRouter,
  type HandlerContext,
  type ServiceImpl,
} from "@connectrpc/connect";
import { linkedSignal } from "../linked-signal.js";

/** A method of a generated client: a promise for a unary method, an async iterable for a server stream. */
type ClientCall = (request: unknown, options: CallOptions) => unknown;
type ForwardingMethod = (request: unknown, context: HandlerContext) => unknown;

export interface ForwardingOptions {
  /**
   * Aborted when this process starts stopping: a forwarded server stream then ends (cleanly), so
   * that it does not hold the drain of the port open until its deadline.
   */
  stopping?: AbortSignal;
}

export function forwardService<S extends DescService>(
  router: ConnectRouter,
  service: S,
  client: Client<S>,
  options: ForwardingOptions = {},
): void {
  const methods: Record<string, ForwardingMethod> = {};
  const calls = client as unknown as Record<string, ClientCall>;
  for (const method of service.methods) {
    const call = calls[method.localName] as ClientCall;
    methods[method.localName] = forwarding(method, call, options);
  }
  router.service(service, methods as Partial<ServiceImpl<S>>);
}

function forwarding(method: DescMethod, call: ClientCall, { stopping }: ForwardingOptions): ForwardingMethod {
  switch (method.methodKind) {
    case "unary":
      return async (request, context) => {
        try {
          return await (call(request, forwardedOptions(context, context.signal)) as Promise<unknown>);
        } catch (error) {
          throw answerOf(error);
        }
      };
    case "server_streaming":
      return async function* (request, context) {
        // Released when the stream ends: the long-lived `stopping` keeps nothing per call.
        const linked = linkedSignal(stopping === undefined ? [context.signal] : [context.signal, stopping]);
        try {
          yield* call(request, forwardedOptions(context, linked.signal)) as AsyncIterable<unknown>;
        } catch (error) {
          // This process is stopping: the stream ends as one ended by its server does.
          if (stopping?.aborted && !context.signal.aborted) return;
          throw answerOf(error);
        } finally {
          linked.release();
        }
      };
    default:
      throw new Error(
        `cannot forward ${method.parent.typeName}/${method.name}: a ${method.methodKind} method`,
      );
  }
}

function forwardedOptions(context: HandlerContext, signal: AbortSignal): CallOptions {
  const authorization = context.requestHeader.get("authorization");
  return {
    headers: authorization === null ? undefined : { authorization },
    signal,
    timeoutMs: context.timeoutMs(),
    contextValues: context.values,
  };
}

/** The remote failure as this process's answer: its response headers (content type and length, …) are not this response's. */
function answerOf(error: unknown): ConnectError {
  const remote = ConnectError.from(error);
  const answer = new ConnectError(remote.rawMessage, remote.code);
  answer.details.push(...remote.details);
  return answer;
}
