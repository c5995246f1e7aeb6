/**
 * Calling the platform's Connect services from a test as an outside client would: Connect JSON
 * over HTTP/1.1 to the app's one port, with the caller's bearer token.
 */
import type { DescService } from "@bufbuild/protobuf";
import { type CallOptions, type Client, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { expect } from "vitest";

/** A client of `service` on the app at `baseUrl`. */
export function connectClient<S extends DescService>(service: S, app: { baseUrl: string }): Client<S> {
  return createClient(service, createConnectTransport({ baseUrl: app.baseUrl, httpVersion: "1.1" }));
}

/** Call options that send `token` as the caller's bearer token. */
export function bearer(token: string): CallOptions {
  return { headers: { authorization: `Bearer ${token}` } };
}

/** The ConnectError `call` fails with; fails the test when it succeeds or throws anything else. */
export async function connectError(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectError);
    return error as ConnectError;
  }
  throw new Error("expected the call to fail");
}
