/**
 * The split gateway's edge copy of products (product-edge-cache.ts), over a stand-in inventory
 * client and peers in memory: anonymous reads are answered from the copy, a forget from the
 * writer's process drops it, tokens and failures always reach inventory, and without the lease
 * every read does. Freshness end to end, through a real split: test/product-freshness.test.ts.
 */
import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { MemoryPeerNetwork } from "../../test/support/cache-test-support.js";
import {
  GetProductResponseSchema,
  type InventoryService,
  ListProductsResponseSchema,
} from "../gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { type Product, ProductSchema } from "../gen/ecommerce/inventory/v1/product_pb.js";
import { withProductEdgeCache } from "./product-edge-cache.js";

const ID = "0190c0de-0000-7000-8000-000000000001";

function inventoryStandIn() {
  const products = new Map<string, Product>();
  const getProduct = vi.fn(async ({ id }: { id?: string }, _options?: unknown) => {
    const product = products.get(id ?? "");
    if (product === undefined) throw new ConnectError(`product ${id} not found`, Code.NotFound);
    return create(GetProductResponseSchema, { product });
  });
  const listProducts = vi.fn(async () => create(ListProductsResponseSchema, {}));
  const client = { getProduct, listProducts } as unknown as Client<typeof InventoryService>;
  const put = (name: string) => products.set(ID, create(ProductSchema, { id: ID, name }));
  return { client, getProduct, listProducts, put, products };
}

function edge() {
  const inventory = inventoryStandIn();
  const network = new MemoryPeerNetwork();
  const peer = network.peer();
  const copy = withProductEdgeCache(inventory.client, { peers: peer });
  return { ...inventory, network, peer, edge: copy.client, cached: copy.cached };
}

describe("the gateway's edge copy of products", () => {
  it("answers anonymous reads from its copy after the first", async () => {
    const { edge: client, getProduct, put } = edge();
    put("Espresso");
    for (let i = 0; i < 5; i++)
      expect((await client.getProduct({ id: ID }, {})).product?.name).toBe("Espresso");
    expect(getProduct).toHaveBeenCalledTimes(1);
  });

  it("drops its copy when the writer's process tells it, before the write answers", async () => {
    const { edge: client, getProduct, put, network } = edge();
    put("Espresso");
    await client.getProduct({ id: ID });
    put("Ristretto");
    await network.peer().forget("products", [ID]);
    expect((await client.getProduct({ id: ID })).product?.name).toBe("Ristretto");
    expect(getProduct).toHaveBeenCalledTimes(2);
  });

  it("sends every read that carries a token to inventory, which checks it", async () => {
    const { edge: client, getProduct, put } = edge();
    put("Espresso");
    await client.getProduct({ id: ID });
    const headers = { authorization: "Bearer x" };
    await client.getProduct({ id: ID }, { headers });
    await client.getProduct({ id: ID }, { headers });
    expect(getProduct).toHaveBeenCalledTimes(3);
    expect(getProduct.mock.calls[2]?.[1]).toEqual({ headers });
  });

  it("keeps no failure: a missing product is asked for again, with inventory's own error", async () => {
    const { edge: client, getProduct } = edge();
    for (let i = 0; i < 2; i++) {
      await expect(client.getProduct({ id: ID })).rejects.toMatchObject({ code: Code.NotFound });
    }
    expect(getProduct).toHaveBeenCalledTimes(2);
  });

  it("without the lease, every read goes to inventory", async () => {
    const { edge: client, getProduct, put, peer } = edge();
    put("Espresso");
    await client.getProduct({ id: ID });
    peer.synced = false;
    await client.getProduct({ id: ID });
    await client.getProduct({ id: ID });
    expect(getProduct).toHaveBeenCalledTimes(3);
  });

  it("passes every other method through", async () => {
    const { edge: client, listProducts } = edge();
    await client.listProducts({});
    expect(listProducts).toHaveBeenCalledTimes(1);
  });
});
