/**
 * Client and server interceptors around an in-process call: their order, the request and signal
 * they see or substitute, the headers and errors they answer with. Each case runs against
 * createRouterTransport too (see in-process-transport.test.ts).
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  makeInProcess,
  makeRouter,
  type Seen,
  type SharedCase,
  settle,
  setup,
  summarizeError,
  userHeaders,
} from "../../../test/support/transport-conformance-fixtures.js";

const sharedCases: SharedCase[] = [
  {
    name: "runs client interceptors in order around the call, with a live signal",
    async run(make) {
      const log: string[] = [];
      const recorder =
        (name: string): Interceptor =>
        (next) =>
        async (req) => {
          log.push(`${name}>`);
          if (name === "inner") {
            req.header.set("x-echo", "from-interceptor");
            log.push(`signal live: ${req.signal instanceof AbortSignal && !req.signal.aborted}`);
          }
          const res = await next(req);
          log.push(`<${name} x-echo=${res.header.get("x-echo")} stream=${res.stream}`);
          return res;
        };
      let request: { signal: AbortSignal } | undefined;
      const keep: Interceptor = (next) => (req) => {
        request = req;
        return next(req);
      };
      const { client } = setup(make, { interceptors: [recorder("outer"), recorder("inner"), keep] });
      await client.createProduct({ name: "Kettle" });
      log.push(`signal aborted after: ${request?.signal.aborted}`);
      return log;
    },
    expected: [
      "outer>",
      "inner>",
      "signal live: true",
      "<inner x-echo=from-interceptor stream=false",
      "<outer x-echo=from-interceptor stream=false",
      "signal aborted after: true",
    ],
  },
  {
    name: "works with client interceptors that pass on a copy of the request",
    async run(make) {
      const copying: Interceptor = (next) => (req) => {
        const header = new Headers(req.header);
        header.set("x-echo", "copied");
        return next({ ...req, header });
      };
      const { seen, client } = setup(make, { interceptors: [copying] });
      let header: Headers | undefined;
      await client.createProduct(
        { name: "Kettle" },
        {
          onHeader: (h) => {
            header = h;
          },
        },
      );
      const deadline = await settle(client.getProduct({ id: "wait" }, { timeoutMs: 20 }));
      return {
        header: userHeaders(header),
        deadline: "error" in deadline ? deadline.error.code : "none",
        handlerSaw: summarizeError(seen.signalReason).code,
      };
    },
    expected: {
      header: [["x-echo", "copied"]],
      deadline: "DeadlineExceeded",
      handlerSaw: "DeadlineExceeded",
    },
  },
  {
    name: "honours a signal that a client interceptor substitutes",
    async run(make) {
      const own = new AbortController();
      const substitute: Interceptor = (next) => (req) => next({ ...req, signal: own.signal });
      const { seen, client } = setup(make, { interceptors: [substitute] });
      setTimeout(() => own.abort(), 10);
      const outcome = await settle(client.getProduct({ id: "wait" }));
      return { outcome, handlerSaw: (seen.signalReason as Error | undefined)?.name };
    },
    expected: {
      outcome: {
        error: {
          code: "Canceled",
          rawMessage: "This operation was aborted",
          metadata: [],
          detailTypes: [],
          strings: [],
          timestamps: [],
          hasCause: false,
        },
      },
      handlerSaw: "AbortError",
    },
  },
  {
    name: "runs server interceptors in order around the handler, seeing its original errors",
    async run(make) {
      const log: string[] = [];
      const recorder =
        (name: string): Interceptor =>
        (next) =>
        async (req) => {
          log.push(`${name}> ${req.method.name} x-echo=${req.header.get("x-echo")}`);
          try {
            const res = await next(req);
            if (name === "s-inner") {
              res.header.set("x-server-interceptor", "yes");
            }
            log.push(`<${name}`);
            return res;
          } catch (e) {
            log.push(`<${name} threw ${e instanceof ConnectError ? e.message : String(e)}`);
            throw e;
          }
        };
      const { client } = setup(make, { serverInterceptors: [recorder("s-outer"), recorder("s-inner")] });
      let header: Headers | undefined;
      await client.createProduct(
        { name: "Kettle" },
        {
          headers: { "x-echo": "hi" },
          onHeader: (h) => {
            header = h;
          },
        },
      );
      const failure = await settle(client.getProduct({ id: "explode" }));
      return { log, header: userHeaders(header), failure: "error" in failure ? failure.error.code : "none" };
    },
    expected: {
      log: [
        "s-outer> CreateProduct x-echo=hi",
        "s-inner> CreateProduct x-echo=hi",
        "<s-inner",
        "<s-outer",
        "s-outer> GetProduct x-echo=null",
        "s-inner> GetProduct x-echo=null",
        "<s-inner threw Error: database exploded",
        "<s-outer threw Error: database exploded",
      ],
      header: [
        ["x-echo", "hi"],
        ["x-server-interceptor", "yes"],
      ],
      failure: "Internal",
    },
  },
  {
    name: "fires the handler's signal as soon as the handler is done",
    async run(make) {
      // Read by a client interceptor: the handler is done, the call is not yet.
      let afterHandler: boolean | undefined;
      let handlerSaw: Seen | undefined;
      const afterNext: Interceptor = (next) => async (req) => {
        const res = await next(req);
        afterHandler = handlerSaw?.context?.signal.aborted;
        return res;
      };
      const { seen, client } = setup(make, { interceptors: [afterNext] });
      handlerSaw = seen;
      await client.getProduct({ id: "p-1" });
      return { afterHandler };
    },
    expected: { afterHandler: true },
  },
  {
    name: "answers with the headers a server interceptor puts in its response",
    async run(make) {
      const replace: Interceptor = (next) => async (req) => {
        const res = await next(req);
        // Adds only: Connect's router keeps headers a replacement drops (it clears the old
        // Headers while iterating them), a quirk not worth copying.
        const header = new Headers(res.header);
        header.set("x-replaced", "yes");
        return { ...res, header, trailer: new Headers({ "x-new-trailer": "1" }) };
      };
      const { client } = setup(make, { serverInterceptors: [replace] });
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      await client.createProduct(
        { name: "Kettle" },
        {
          headers: { "x-echo": "hi" },
          onHeader: (h) => {
            header = h;
          },
          onTrailer: (t) => {
            trailer = t;
          },
        },
      );
      return { header: userHeaders(header), trailer: userHeaders(trailer) };
    },
    expected: {
      header: [
        ["x-echo", "hi"],
        ["x-replaced", "yes"],
      ],
      trailer: [["x-new-trailer", "1"]],
    },
  },
  {
    name: "lets a server interceptor answer with an error of its own",
    async run(make) {
      const deny: Interceptor = () => () => {
        throw new ConnectError("no token", Code.Unauthenticated, { "x-auth": "bearer" });
      };
      return settle(setup(make, { serverInterceptors: [deny] }).client.getProduct({ id: "p-1" }));
    },
    expected: {
      error: {
        code: "Unauthenticated",
        rawMessage: "no token",
        metadata: [["x-auth", "bearer"]],
        detailTypes: [],
        strings: [],
        timestamps: [],
        hasCause: false,
      },
    },
  },
];

describe("in-process transport, against createRouterTransport", () => {
  it.each(sharedCases)("$name", async ({ run, expected }) => {
    const inProcess = await run(makeInProcess);
    const router = await run(makeRouter);
    expect({ inProcess, router }).toEqual({ inProcess: expected, router: expected });
  });
});
