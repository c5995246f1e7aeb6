/**
 * Which failures of a network call connectionLossIsUnavailable reports as `unavailable`
 * (connection-loss.ts), and which it leaves alone.
 */
import { Code, ConnectError, type UnaryRequest } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InventoryService } from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { connectionLossIsUnavailable } from "./connection-loss.js";

function callFailingWith(error: unknown, signal: AbortSignal): Promise<unknown> {
  const request = { service: InventoryService, signal } as unknown as UnaryRequest;
  return connectionLossIsUnavailable(() => Promise.reject(error))(request);
}

async function codeOf(promise: Promise<unknown>): Promise<Code> {
  return promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (error: unknown) => ConnectError.from(error).code,
  );
}

describe("connectionLossIsUnavailable", () => {
  it("a reset or a write to a dead socket is unavailable", async () => {
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
    const live = new AbortController().signal;
    expect(
      await codeOf(callFailingWith(new ConnectError("x", Code.Aborted, undefined, undefined, reset), live)),
    ).toBe(Code.Unavailable);
    expect(
      await codeOf(callFailingWith(new ConnectError("x", Code.Internal, undefined, undefined, epipe), live)),
    ).toBe(Code.Unavailable);
  });

  it("an HTTP/2 stream the peer cancelled is unavailable; one this side cancelled stays canceled", async () => {
    const cancelled = new ConnectError("http/2 stream closed with error code CANCEL (0x8)", Code.Canceled);
    expect(await codeOf(callFailingWith(cancelled, new AbortController().signal))).toBe(Code.Unavailable);
    const mine = new AbortController();
    mine.abort();
    expect(await codeOf(callFailingWith(cancelled, mine.signal))).toBe(Code.Canceled);
  });

  it("leaves the module's own answers alone", async () => {
    const live = new AbortController().signal;
    expect(await codeOf(callFailingWith(new ConnectError("no", Code.NotFound), live))).toBe(Code.NotFound);
    expect(await codeOf(callFailingWith(new ConnectError("no", Code.Aborted), live))).toBe(Code.Aborted);
  });
});
