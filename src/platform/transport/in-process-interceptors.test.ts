/**
 * Client and server interceptors around an in-process call: their order, the request and signal
 * they see or substitute, the headers and errors they answer with. Each case (interceptorCases in
 * transport-conformance-cases.ts) runs against createRouterTransport too (see
 * in-process-transport.test.ts).
 */
import { describe, expect, it } from "vitest";
import { interceptorCases } from "../../../test/support/transport-conformance-cases.js";
import { makeInProcess, makeRouter } from "../../../test/support/transport-conformance-fixtures.js";

describe("in-process transport, against createRouterTransport", () => {
  it.each(interceptorCases)("$name", async ({ run, expected }) => {
    const inProcess = await run(makeInProcess);
    const router = await run(makeRouter);
    expect({ inProcess, router }).toEqual({ inProcess: expected, router: expected });
  });
});
