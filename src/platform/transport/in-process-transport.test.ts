/**
 * The in-process transport must be indistinguishable from Connect's createRouterTransport, which
 * goes through the full protocol and is the reference: every shared case runs against both and
 * must give the same outcome, which must also be the expected one (so that a case still fails when
 * both transports go wrong the same way).
 *
 * Outcomes compare user-visible headers only (names starting with "x-"): the router transport also
 * exposes protocol headers (content-type, content-length, connect-protocol-version, …) that the
 * in-process transport has no wire for.
 *
 * This file runs the shared cases of what a call answers (responses, errors, headers, context
 * values; transport-conformance-cases.ts, which the network transport runs too) and has the
 * in-process transport's own promises about messages; in-process-cancellation,
 * in-process-interceptors and in-process-routing.test.ts have the rest, and conformance-fixtures.ts
 * the setup they share.
 */
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { callCases } from "../../../test/support/transport-conformance-cases.js";
import {
  espresso,
  makeInProcess,
  makeRouter,
  settle,
} from "../../../test/support/transport-conformance-fixtures.js";
import {
  CreateProductRequestSchema,
  GetProductRequestSchema,
  GetProductResponseSchema,
  InventoryService,
} from "../../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import type { Product } from "../../gen/ecommerce/inventory/v1/product_pb.js";
import { createInProcessTransport } from "./in-process-transport.js";

describe("in-process transport, against createRouterTransport", () => {
  it.each(callCases)("$name", async ({ run, expected }) => {
    const inProcess = await run(makeInProcess);
    const router = await run(makeRouter);
    expect({ inProcess, router }).toEqual({ inProcess: expected, router: expected });
  });
});

describe("in-process transport", () => {
  it("hands the request object to the handler and its response object back, uncopied", async () => {
    const response = create(GetProductResponseSchema, { product: espresso() });
    let received: unknown;
    const transport = createInProcessTransport((router) => {
      router.service(InventoryService, {
        getProduct(req) {
          received = req;
          return response;
        },
      });
    });
    const request = create(GetProductRequestSchema, { id: "p-1" });
    const result = await createClient(InventoryService, transport).getProduct(request);
    expect(received).toBe(request);
    expect(result).toBe(response);
  });

  it("with freezeMessages, makes writes to a shared request or response throw", async () => {
    const stored = create(GetProductResponseSchema, { product: espresso() });
    const transport = createInProcessTransport(
      (router) => {
        router.service(InventoryService, {
          getProduct: () => stored,
          createProduct(req) {
            req.name = "renamed by the handler";
            return {};
          },
        });
      },
      { freezeMessages: true },
    );
    const client = createClient(InventoryService, transport);
    const request = create(CreateProductRequestSchema, { name: "Kettle" });
    const failure = await settle(client.createProduct(request));
    expect(failure).toMatchObject({ error: { code: "Internal" } });
    expect(request.name).toBe("Kettle");

    const result = await client.getProduct({ id: "p-1" });
    const product = result.product as Product;
    expect(() => {
      product.stock = 0;
    }).toThrow(TypeError);
    expect(stored.product?.stock).toBe(7);
  });
});
