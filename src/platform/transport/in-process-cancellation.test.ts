/**
 * What ends an in-process call early: its deadline, the caller's signal, the service's shutdown
 * signal, a deadline longer than the service allows. Each case (cancellationCases in
 * transport-conformance-cases.ts) runs against createRouterTransport too (see
 * in-process-transport.test.ts).
 */
import { describe, expect, it } from "vitest";
import { cancellationCases } from "../../../test/support/transport-conformance-cases.js";
import { makeInProcess, makeRouter, setup } from "../../../test/support/transport-conformance-fixtures.js";

describe("in-process transport, against createRouterTransport", () => {
  it.each(cancellationCases)("$name", async ({ run, expected }) => {
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
