/**
 * Where each service's client gets its transport: in-process when the module is hosted here, over
 * the network when its *_URL names the process that hosts it. The modules' code is the same
 * either way (docs/architecture.md, "Topologies").
 */
import type { ConnectRouter, HandlerContext, Transport } from "@connectrpc/connect";
import { reportHandlerFailure } from "../platform/errors/index.js";
import type { Logger } from "../platform/logger.js";
import {
  activeTracer,
  type RpcMetrics,
  sendRequestContext,
  traceInProcessCalls,
  traceRpcCalls,
  traceRpcHandlers,
} from "../platform/observability/index.js";
import {
  connectionLossIsUnavailable,
  createInProcessTransport,
  createNetworkTransport,
} from "../platform/transport/index.js";

export class ModuleTransports {
  /** Built on first use, once every module hosted here is mounted and has registered its services. */
  private local: Transport | undefined;
  /** The in-process transport to the services `routes` registers. */
  readonly inProcess: Transport;

  constructor(
    routes: (router: ConnectRouter) => void,
    logger: Logger,
    private readonly metrics: RpcMetrics,
  ) {
    // What a method throws reaches its caller as a public error, logged once (public-error.ts).
    const onHandlerError = (thrown: unknown, context: HandlerContext) =>
      reportHandlerFailure(logger, thrown, context);
    // Span interceptors only while tracing: any client interceptor takes the in-process transport
    // off its direct path, which costs every call (in-process-transport.ts).
    const tracing = activeTracer() !== undefined;
    const local = () => {
      this.local ??= createInProcessTransport(routes, {
        onHandlerError,
        interceptors: tracing ? [traceInProcessCalls] : [],
        serverInterceptors: tracing ? [traceRpcHandlers] : [],
        onUnaryCompleted: metrics.inProcessCall,
        streamInterceptors: [metrics.inProcessStream],
      });
      return this.local;
    };
    this.inProcess = {
      unary: (...args) => local().unary(...args),
      stream: (...args) => local().stream(...args),
    };
  }

  /**
   * In-process when `url` is undefined, else Connect to the process at `url`: unary calls over
   * HTTP/1.1 with kept-alive connections, which the one port answers on its fast path, streams
   * over connect-node's HTTP/2 (network-transport.ts in the transport subsystem says why).
   */
  to(url: string | undefined): Transport {
    if (url === undefined) return this.inProcess;
    return createNetworkTransport({
      baseUrl: url,
      interceptors: [connectionLossIsUnavailable, sendRequestContext, traceRpcCalls, this.metrics.made],
    });
  }
}
