/**
 * The catalog's InventoryService on the REST port over every RPC protocol: gRPC from a client we
 * did not write (@grpc/grpc-js over cleartext HTTP/2), Connect JSON from plain fetch, and
 * connect-node's Connect, gRPC and gRPC-Web transports. Authorization and validation must be the
 * same as over REST.
 */
import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FieldViolationsSchema } from "../src/gen/ecommerce/common/v1/error_details_pb.js";
import {
  CreateProductRequestSchema,
  CreateProductResponseSchema,
  GetProductRequestSchema,
  GetProductResponseSchema,
  InventoryService,
} from "../src/gen/ecommerce/inventory/v1/inventory_service_pb.js";
import type { Product } from "../src/gen/ecommerce/inventory/v1/product_pb.js";
import { connectError } from "./support/connect-call.js";
import { grpcJsError, grpcJsUnary } from "./support/grpc-js-unary.js";
import { httpCall } from "./support/http-call.js";
import { invalidCredentials } from "./support/invalid-tokens.js";
import { expectProductShape, type ProductJson } from "./support/product-json.js";
import { availableSetups, startTestApp, type TestApp } from "./support/test-app.js";

const SERVICE = "ecommerce.inventory.v1.InventoryService";
const INVALID_CREDENTIALS = await invalidCredentials();

const TRANSPORTS: [string, (baseUrl: string) => Transport][] = [
  ["Connect over HTTP/1.1", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
  ["Connect over HTTP/2", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2" })],
  ["gRPC over HTTP/2", (baseUrl) => createGrpcTransport({ baseUrl })],
  ["gRPC-Web over HTTP/1.1", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
];

/** The product a Connect / gRPC caller sees must be the one REST shows. */
function expectSameProduct(product: Product | undefined, rest: ProductJson): void {
  expect(product).toBeDefined();
  const value = product as Product;
  expect({
    id: value.id,
    name: value.name,
    description: value.description,
    category: value.category,
    priceCents: value.priceCents,
    stock: value.stock,
    createdAt: value.createdAt ? timestampDate(value.createdAt).toISOString() : undefined,
    updatedAt: value.updatedAt ? timestampDate(value.updatedAt).toISOString() : undefined,
  }).toEqual({
    id: rest.id,
    name: rest.name,
    description: rest.description,
    category: rest.category,
    priceCents: BigInt(rest.price_cents),
    stock: rest.stock,
    createdAt: rest.created_at,
    updatedAt: rest.updated_at,
  });
}

describe.each(availableSetups())("InventoryService over RPC on the REST port (%s)", (setup) => {
  let app: TestApp;
  /** Created over REST, read back over every protocol. */
  let restProduct: ProductJson;

  beforeAll(async () => {
    app = await startTestApp(setup);
    const created = await httpCall(app.baseUrl, "POST", "/products", {
      token: app.adminToken,
      json: {
        name: "Stovetop kettle",
        description: "Enamel, 1.5 l",
        category: `cat-${randomUUID().slice(0, 8)}`,
        price_cents: 3499,
        stock: 12,
      },
    });
    expect(created.status, created.text).toBe(201);
    expectProductShape(created.body);
    restProduct = created.body;
  });
  afterAll(async () => {
    await app?.stop();
  });

  describe("@grpc/grpc-js over cleartext HTTP/2", () => {
    let client: grpc.Client;
    const getProduct = (id: string, metadata?: Record<string, string>) =>
      grpcJsUnary(
        client,
        `/${SERVICE}/GetProduct`,
        { input: GetProductRequestSchema, output: GetProductResponseSchema },
        { id },
        metadata,
      );
    const createProduct = (metadata?: Record<string, string>) =>
      grpcJsUnary(
        client,
        `/${SERVICE}/CreateProduct`,
        { input: CreateProductRequestSchema, output: CreateProductResponseSchema },
        { name: "From grpc-js", priceCents: 250n, stock: 2 },
        metadata,
      );

    beforeAll(() => {
      client = new grpc.Client(new URL(app.baseUrl).host, grpc.credentials.createInsecure());
    });
    afterAll(() => client?.close());

    it("GetProduct returns the product exactly as REST shows it", async () => {
      const response = await getProduct(restProduct.id);
      expectSameProduct(response.product, restProduct);
    });

    it.each([
      ["an unknown id", randomUUID()],
      ["a malformed id", "not-a-uuid"],
    ])("GetProduct of %s fails with NOT_FOUND", async (_name, id) => {
      const error = await grpcJsError(getProduct(id));
      expect(error.code).toBe(grpc.status.NOT_FOUND);
    });

    it("CreateProduct meets the REST role table: no token, customer, admin", async () => {
      expect((await grpcJsError(createProduct())).code).toBe(grpc.status.UNAUTHENTICATED);
      const asCustomer = await grpcJsError(createProduct({ authorization: `Bearer ${app.customerToken}` }));
      expect(asCustomer.code).toBe(grpc.status.PERMISSION_DENIED);
      const created = await createProduct({ authorization: `Bearer ${app.adminToken}` });
      expect(created.product?.priceCents).toBe(250n);
      const rest = await httpCall(app.baseUrl, "GET", `/products/${created.product?.id}`);
      expect(rest.status).toBe(200);
      expect(rest.body).toMatchObject({ name: "From grpc-js", price_cents: 250, stock: 2 });
    });

    it("GetProduct with an invalid token fails with UNAUTHENTICATED", async () => {
      const [credential] = INVALID_CREDENTIALS;
      const error = await grpcJsError(
        getProduct(restProduct.id, { authorization: credential?.header ?? "" }),
      );
      expect(error.code).toBe(grpc.status.UNAUTHENTICATED);
    });
  });

  describe("Connect JSON over HTTP/1.1 with plain fetch", () => {
    const post = (method: string, body: string, token?: string) =>
      fetch(`${app.baseUrl}/${SERVICE}/${method}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        body,
      });

    it("GetProduct answers proto3 JSON, int64 priceCents as a string", async () => {
      const response = await post("GetProduct", JSON.stringify({ id: restProduct.id }));
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^application\/json\b/);
      const { product } = (await response.json()) as { product: Record<string, unknown> };
      expect(product).toEqual({
        id: restProduct.id,
        name: restProduct.name,
        description: restProduct.description,
        category: restProduct.category,
        priceCents: String(restProduct.price_cents),
        stock: restProduct.stock,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(Date.parse(product.createdAt as string)).toBe(Date.parse(restProduct.created_at));
      expect(Date.parse(product.updatedAt as string)).toBe(Date.parse(restProduct.updated_at));
    });

    it("GetProduct of an unknown id is HTTP 404 with code not_found", async () => {
      const response = await post("GetProduct", JSON.stringify({ id: randomUUID() }));
      expect(response.status).toBe(404);
      expect(response.headers.get("content-type")).toMatch(/^application\/json\b/);
      expect(await response.json()).toMatchObject({ code: "not_found", message: expect.any(String) });
    });

    it("malformed JSON is HTTP 400 with code invalid_argument, never a 5xx", async () => {
      const response = await post("GetProduct", '{"id": ');
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: "invalid_argument" });
    });

    it("CreateProduct follows the role table and returns FieldViolations for bad input", async () => {
      const valid = JSON.stringify({ name: "Connect JSON", priceCents: "700", stock: 1 });
      const anonymous = await post("CreateProduct", valid);
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toMatchObject({ code: "unauthenticated" });
      const customer = await post("CreateProduct", valid, app.customerToken);
      expect(customer.status).toBe(403);
      expect(await customer.json()).toMatchObject({ code: "permission_denied" });
      const admin = await post("CreateProduct", valid, app.adminToken);
      expect(admin.status).toBe(200);
      expect(await admin.json()).toMatchObject({
        product: { name: "Connect JSON", priceCents: "700", stock: 1 },
      });

      const invalid = await post(
        "CreateProduct",
        JSON.stringify({ name: "", priceCents: "-1", stock: -1 }),
        app.adminToken,
      );
      expect(invalid.status).toBe(400);
      const body = (await invalid.json()) as { code: string; details?: { type: string; value: string }[] };
      expect(body.code).toBe("invalid_argument");
      const detail = body.details?.find((entry) => entry.type === "ecommerce.common.v1.FieldViolations");
      expect(detail, JSON.stringify(body)).toBeDefined();
      const violations = fromBinary(
        FieldViolationsSchema,
        Buffer.from(detail?.value ?? "", "base64"),
      ).violations;
      expect(violations.map((violation) => violation.field).sort()).toEqual(["name", "price_cents", "stock"]);
    });
  });

  describe.each(TRANSPORTS)("connect-node client, %s", (_name, makeTransport) => {
    let client: ReturnType<typeof createClient<typeof InventoryService>>;
    const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    const newProduct = () => ({ name: "Via client", priceCents: 1250n, stock: 3, category: "rpc" });

    beforeAll(() => {
      client = createClient(InventoryService, makeTransport(app.baseUrl));
    });

    it("GetProduct returns the product REST created", async () => {
      const { product } = await client.getProduct({ id: restProduct.id });
      expectSameProduct(product, restProduct);
    });

    it("GetProduct of an unknown id is NotFound", async () => {
      expect((await connectError(client.getProduct({ id: randomUUID() }))).code).toBe(Code.NotFound);
    });

    it("CreateProduct without a token is Unauthenticated", async () => {
      expect((await connectError(client.createProduct(newProduct()))).code).toBe(Code.Unauthenticated);
    });

    it("CreateProduct with a customer token is PermissionDenied", async () => {
      const error = await connectError(client.createProduct(newProduct(), auth(app.customerToken)));
      expect(error.code).toBe(Code.PermissionDenied);
    });

    it.each(INVALID_CREDENTIALS)("CreateProduct with $name is Unauthenticated", async ({ header }) => {
      const error = await connectError(
        client.createProduct(newProduct(), { headers: { authorization: header } }),
      );
      expect(error.code).toBe(Code.Unauthenticated);
    });

    it("CreateProduct with an admin token succeeds, and REST sees the product", async () => {
      const { product } = await client.createProduct(newProduct(), auth(app.adminToken));
      expect(product).toMatchObject({ name: "Via client", priceCents: 1250n, stock: 3, category: "rpc" });
      const rest = await httpCall(app.baseUrl, "GET", `/products/${product?.id}`);
      expect(rest.status).toBe(200);
      expectProductShape(rest.body);
      expectSameProduct(product, rest.body);
    });

    it("invalid input is InvalidArgument with FieldViolations naming every field", async () => {
      const error = await connectError(
        client.createProduct({ name: "", priceCents: -1n, stock: -1 }, auth(app.adminToken)),
      );
      expect(error.code).toBe(Code.InvalidArgument);
      const [details] = error.findDetails(FieldViolationsSchema);
      expect(details?.violations.map((violation) => violation.field).sort()).toEqual([
        "name",
        "price_cents",
        "stock",
      ]);
      for (const violation of details?.violations ?? []) expect(violation.message).not.toBe("");
    });

    it("UpdateProduct and DeleteProduct follow the same role table", async () => {
      const { product } = await client.createProduct(newProduct(), auth(app.adminToken));
      const id = product?.id ?? "";
      expect((await connectError(client.updateProduct({ id, stock: 9 }))).code).toBe(Code.Unauthenticated);
      expect((await connectError(client.updateProduct({ id, stock: 9 }, auth(app.customerToken)))).code).toBe(
        Code.PermissionDenied,
      );
      expect((await connectError(client.deleteProduct({ id }, auth(app.customerToken)))).code).toBe(
        Code.PermissionDenied,
      );
      expect((await client.getProduct({ id })).product?.stock).toBe(3);
      expect((await client.updateProduct({ id, stock: 9 }, auth(app.adminToken))).product?.stock).toBe(9);
      await client.deleteProduct({ id }, auth(app.adminToken));
      expect((await connectError(client.getProduct({ id }))).code).toBe(Code.NotFound);
    });

    it("ListProducts pages and rejects an out-of-range page size", async () => {
      const { products, nextPageToken } = await client.listProducts({ category: restProduct.category });
      expect(products.map((product) => product.id)).toEqual([restProduct.id]);
      expect(nextPageToken).toBe("");
      const error = await connectError(client.listProducts({ pageSize: 101 }));
      expect(error.code).toBe(Code.InvalidArgument);
    });
  });
});
