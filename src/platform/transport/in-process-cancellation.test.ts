/**
 * What ends an in-process call early: its deadline, the caller's signal, the service's shutdown
 * signal, a deadline longer than the service allows. Each case runs against createRouterTransport
 * too (see in-process-transport.test.ts).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  makeInProcess,
  makeRouter,
  type SharedCase,
  settle,
  setup,
  summarizeError,
} from "../../../test/support/transport-conformance-fixtures.js";

const sharedCases: SharedCase[] = [
  {
    name: "aborts the handler's signal on the deadline and fails with deadline_exceeded",
    async run(make) {
      const { seen, client } = setup(make);
      const outcome = await settle(client.getProduct({ id: "wait" }, { timeoutMs: 30 }));
      return {
        outcome,
        handlerSaw: summarizeError(seen.signalReason),
        remainingWithinDeadline:
          seen.remainingMs !== undefined && seen.remainingMs > 0 && seen.remainingMs <= 30,
      };
    },
    expected: {
      outcome: {
        error: {
          code: "DeadlineExceeded",
          rawMessage: "the operation timed out",
          metadata: [],
          detailTypes: [],
          strings: [],
          timestamps: [],
          hasCause: false,
        },
      },
      handlerSaw: {
        code: "DeadlineExceeded",
        rawMessage: "the operation timed out",
        metadata: [],
        detailTypes: [],
        strings: [],
        timestamps: [],
        hasCause: false,
      },
      remainingWithinDeadline: true,
    },
  },
  {
    name: "stops waiting at the deadline even if the handler ignores its signal",
    async run(make) {
      const { client } = setup(make);
      const started = Date.now();
      const outcome = await settle(client.getProduct({ id: "ignore" }, { timeoutMs: 30 }));
      return { code: "error" in outcome ? outcome.error.code : "none", early: Date.now() - started < 250 };
    },
    expected: { code: "DeadlineExceeded", early: true },
  },
  {
    name: "cancels through the caller's signal",
    async run(make) {
      const { seen, client } = setup(make);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 10);
      const outcome = await settle(client.getProduct({ id: "wait" }, { signal: controller.signal }));
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
    name: "cancels with the caller's own abort reason",
    async run(make) {
      const { client } = setup(make);
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error("user left")), 10);
      return settle(client.getProduct({ id: "wait" }, { signal: controller.signal }));
    },
    expected: {
      error: {
        code: "Canceled",
        rawMessage: "user left",
        metadata: [],
        detailTypes: [],
        strings: [],
        timestamps: [],
        hasCause: true,
      },
    },
  },
  {
    name: "fails a call whose signal is already aborted with canceled",
    run: (make) => settle(setup(make).client.getProduct({ id: "p-1" }, { signal: AbortSignal.abort() })),
    expected: {
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
  },
  {
    name: "applies a service's maxTimeoutMs",
    run: (make) =>
      settle(setup(make, {}, { maxTimeoutMs: 100 }).client.getProduct({ id: "p-1" }, { timeoutMs: 1000 })),
    expected: {
      error: {
        code: "InvalidArgument",
        rawMessage: "timeout 1000ms must be <= 100",
        metadata: [],
        detailTypes: [],
        strings: [],
        timestamps: [],
        hasCause: false,
      },
    },
  },
  {
    name: "aborts the handler's signal when the service's shutdownSignal fires",
    async run(make) {
      const shutdown = new AbortController();
      const { client } = setup(make, {}, { shutdownSignal: shutdown.signal });
      setTimeout(() => shutdown.abort(new ConnectError("shutting down", Code.Unavailable)), 10);
      return settle(client.getProduct({ id: "wait" }));
    },
    expected: {
      error: {
        code: "Unavailable",
        rawMessage: "shutting down",
        metadata: [
          ["x-served-by", "fake"],
          ["x-trailer", "t"],
        ],
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

describe("in-process transport", () => {
  it("never runs the handler of a call that is already canceled", async () => {
    const { seen, client } = setup(makeInProcess);
    await expect(client.getProduct({ id: "p-1" }, { signal: AbortSignal.abort() })).rejects.toThrow(
      "[canceled]",
    );
    expect(seen.calls).toBe(0);
  });
});
