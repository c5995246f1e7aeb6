/**
 * Where the in-process transport finds a method's implementation: the ConnectRouter its `routes`
 * register services on, keeping unary methods for direct calls and the handler options that apply
 * to each (see InProcessRouter below; docs/architecture.md, "A request").
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  type ConnectRouter,
  createConnectRouter,
  createMethodImplSpec,
  createServiceImplSpec,
  type HandlerContext,
  type Interceptor,
  type MethodImpl,
  type MethodImplSpec,
  type ServiceImpl,
} from "@connectrpc/connect";
import type { UniversalHandler, UniversalHandlerOptions } from "@connectrpc/connect/protocol";

/** A unary implementation plus the handler options that apply to it. */
export interface UnaryRoute {
  readonly spec: Extract<MethodImplSpec, { kind: "unary" }>;
  readonly interceptors: readonly Interceptor[];
  readonly maxTimeoutMs: number;
  readonly shutdownSignal: AbortSignal | undefined;
  /** What a failure of the handler becomes before the caller sees it (see InProcessRouterOptions). */
  readonly onError: HandlerErrorHook | undefined;
}

/** Turns what a handler threw into what its caller gets (the server's own error reporting). */
export type HandlerErrorHook = (thrown: unknown, context: HandlerContext) => unknown;

/** Router-wide handler options, as given to connectNodeAdapter, plus the in-process error hook. */
export interface InProcessRouterOptions extends Partial<UniversalHandlerOptions> {
  /**
   * Applied to every failure a handler throws, where the transport catches it anyway: the
   * in-process counterpart of a server interceptor that reports failures, at no cost to a call
   * that succeeds.
   */
  onHandlerError?: HandlerErrorHook;
}

/**
 * A ConnectRouter that keeps unary implementations so they can be called directly, and registers
 * streaming ones on a real Connect router (its `handlers`), which the transport reaches through
 * Connect's own in-memory client. `routes(router)` runs once, against this router, so services are
 * instantiated once whichever path a method takes.
 */
export class InProcessRouter implements ConnectRouter {
  readonly #streaming: ConnectRouter;
  readonly #defaults: Partial<UniversalHandlerOptions>;
  readonly #onError: HandlerErrorHook | undefined;
  readonly #byMethod = new Map<DescMethod, UnaryRoute>();
  readonly #byPath = new Map<string, UnaryRoute>();

  /** `defaults` are router-wide handler options, as given to connectNodeAdapter. */
  constructor({ onHandlerError, ...defaults }: InProcessRouterOptions) {
    this.#defaults = defaults;
    this.#onError = onHandlerError;
    this.#streaming = createConnectRouter({ ...defaults, connect: true });
  }

  /** Universal handlers of the streaming methods. */
  get handlers(): UniversalHandler[] {
    return this.#streaming.handlers;
  }

  /** Registers a service; methods it leaves out answer `unimplemented`, as with Connect's router. */
  service<T extends DescService>(
    service: T,
    implementation: Partial<ServiceImpl<T>>,
    options?: Partial<UniversalHandlerOptions>,
  ): this {
    const spec = createServiceImplSpec(service, implementation);
    for (const method of service.methods) {
      const methodSpec = spec.methods[method.localName];
      if (methodSpec !== undefined) {
        this.#add(methodSpec, options);
      }
    }
    return this;
  }

  /** Registers a single method. */
  rpc<M extends DescMethod>(
    method: M,
    impl: MethodImpl<M>,
    options?: Partial<UniversalHandlerOptions>,
  ): this {
    this.#add(createMethodImplSpec(method, impl), options);
    return this;
  }

  /** The unary route for `method`, matched by descriptor or, failing that, by its full name. */
  findUnary(method: DescMethod): UnaryRoute | undefined {
    return this.#byMethod.get(method) ?? this.#byPath.get(pathOf(method));
  }

  #add(spec: MethodImplSpec, options: Partial<UniversalHandlerOptions> | undefined): void {
    if (spec.kind !== "unary") {
      this.#streaming.rpc(spec.method, spec.impl as MethodImpl<DescMethod>, options);
      return;
    }
    // Per-service options replace router-wide ones field by field, as in Connect's router.
    const merged = { ...this.#defaults, ...options };
    const route: UnaryRoute = {
      spec,
      interceptors: merged.interceptors ?? [],
      maxTimeoutMs: merged.maxTimeoutMs ?? Number.MAX_SAFE_INTEGER,
      shutdownSignal: merged.shutdownSignal,
      onError: this.#onError,
    };
    this.#byMethod.set(spec.method, route);
    this.#byPath.set(pathOf(spec.method), route);
  }
}

function pathOf(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}
