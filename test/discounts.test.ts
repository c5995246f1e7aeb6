/**
 * Discounts end to end, as docs/api.md describes them: admin-only writes and listing, validation
 * (every bad field at once), products that must exist, paging, deletion, and the public list of
 * products with a discount in force now, with integer discounted prices. The same rules over
 * Connect. Runs once per available set-up.
 */
import { randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InventoryService } from "../src/gen/ecommerce/inventory/v1/inventory_service_pb.js";
import { type HttpCallOptions, httpCall } from "./support/http-call.js";
import { expectFieldErrors, expectProblem } from "./support/problem-assertions.js";
import { expectIntegerMoneyInText, expectProductShape, type ProductJson } from "./support/product-json.js";
import { availableSetups, startTestApp, type TestApp } from "./support/test-app.js";

interface DiscountJson {
  id: string;
  name: string;
  description: string;
  percent_off: number;
  product_ids: string[];
  starts_at: string;
  ends_at: string;
  active: boolean;
  created_at: string;
}

interface DiscountedProductJson extends ProductJson {
  percent_off: number;
  discounted_price_cents: number;
}

const DISCOUNT_KEYS = [
  "active",
  "created_at",
  "description",
  "ends_at",
  "id",
  "name",
  "percent_off",
  "product_ids",
  "starts_at",
];
const HOUR = 3_600_000;
const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
/** A window that contains now. */
const inForce = () => ({ starts_at: iso(-HOUR), ends_at: iso(HOUR) });

describe.each(availableSetups())("discounts (%s)", (setup) => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(setup);
  });
  afterAll(async () => {
    await app?.stop();
  });

  const call = (method: string, path: string, options?: HttpCallOptions) =>
    httpCall(app.baseUrl, method, path, options);
  const asAdmin = (method: string, path: string, json?: unknown) =>
    call(method, path, { token: app.adminToken, json });

  async function createProduct(priceCents = 1000): Promise<ProductJson> {
    const result = await asAdmin("POST", "/products", {
      name: `Product ${randomUUID().slice(0, 6)}`,
      price_cents: priceCents,
      stock: 5,
    });
    expect(result.status, result.text).toBe(201);
    expectProductShape(result.body);
    return result.body;
  }

  const discountBody = (productIds: string[], fields: Record<string, unknown> = {}) => ({
    name: "Summer sale",
    percent_off: 20,
    product_ids: productIds,
    ...inForce(),
    ...fields,
  });

  async function createDiscount(productIds: string[], fields: Record<string, unknown> = {}) {
    const result = await asAdmin("POST", "/discounts", discountBody(productIds, fields));
    expect(result.status, result.text).toBe(201);
    expect(Object.keys(result.body as object).sort()).toEqual(DISCOUNT_KEYS);
    return result.body as DiscountJson;
  }

  /** Every discounted product over all pages. */
  async function allDiscountedProducts(pageSize = 100): Promise<DiscountedProductJson[]> {
    const products: DiscountedProductJson[] = [];
    let token = "";
    for (let pages = 0; pages < 100; pages++) {
      const query = new URLSearchParams({
        page_size: String(pageSize),
        ...(token ? { page_token: token } : {}),
      });
      const result = await call("GET", `/discounts/products?${query}`);
      expect(result.status, result.text).toBe(200);
      const page = result.body as { products: DiscountedProductJson[]; next_page_token: string };
      products.push(...page.products);
      token = page.next_page_token;
      if (token === "") return products;
    }
    throw new Error("paging does not end");
  }

  describe("create", () => {
    it("answers 201 with the stored discount to an admin", async () => {
      const product = await createProduct();
      const window = inForce();
      const before = Date.now();
      const discount = await createDiscount([product.id, product.id], {
        name: "Spring",
        description: "Ten percent",
        percent_off: 10,
        ...window,
      });
      expect(discount).toMatchObject({
        name: "Spring",
        description: "Ten percent",
        percent_off: 10,
        product_ids: [product.id],
        starts_at: window.starts_at,
        ends_at: window.ends_at,
        active: true,
      });
      expect(Date.parse(discount.created_at)).toBeGreaterThanOrEqual(before - 1000);
      const later = await createDiscount([product.id], { starts_at: iso(HOUR), ends_at: iso(2 * HOUR) });
      expect(later.active).toBe(false);
    });

    it("needs an admin: 401 without a token, 403 for a customer", async () => {
      const product = await createProduct();
      expectProblem(
        await call("POST", "/discounts", { json: discountBody([product.id]) }),
        401,
        "unauthenticated",
      );
      expectProblem(
        await call("POST", "/discounts", { token: app.customerToken, json: discountBody([product.id]) }),
        403,
        "permission_denied",
      );
    });

    it("answers 404 naming a product that does not exist, and stores nothing", async () => {
      const product = await createProduct();
      const missing = randomUUID();
      const name = `Ghost ${randomUUID()}`;
      const result = await asAdmin("POST", "/discounts", discountBody([product.id, missing], { name }));
      const problem = expectProblem(result, 404, "not_found");
      expect(problem.detail).toContain(missing);
      expect(problem.detail).not.toContain(product.id);
      const listed = await asAdmin("GET", "/discounts?page_size=100");
      expect((listed.body as { discounts: DiscountJson[] }).discounts.some((d) => d.name === name)).toBe(
        false,
      );
    });

    it("answers 400 when ends_at is not after starts_at", async () => {
      const product = await createProduct();
      const at = iso(HOUR);
      expectFieldErrors(
        await asAdmin("POST", "/discounts", discountBody([product.id], { starts_at: at, ends_at: iso(0) })),
        ["ends_at"],
      );
      expectFieldErrors(
        await asAdmin("POST", "/discounts", discountBody([product.id], { starts_at: at, ends_at: at })),
        ["ends_at"],
      );
    });

    it("answers 400 for percent_off 0 and 101 and accepts 1 and 100", async () => {
      const product = await createProduct();
      for (const percent of [0, 101, 12.5]) {
        expectFieldErrors(
          await asAdmin("POST", "/discounts", discountBody([product.id], { percent_off: percent })),
          ["percent_off"],
        );
      }
      expect((await createDiscount([product.id], { percent_off: 1 })).percent_off).toBe(1);
      expect((await createDiscount([product.id], { percent_off: 100 })).percent_off).toBe(100);
    });

    it("reports every bad field at once", async () => {
      const result = await asAdmin("POST", "/discounts", {
        name: "",
        description: "d".repeat(5001),
        percent_off: 0,
        product_ids: ["not-a-uuid"],
        starts_at: "yesterday",
        ends_at: "2025-13-45T00:00:00Z",
      });
      expectFieldErrors(result, [
        "name",
        "description",
        "percent_off",
        "product_ids",
        "starts_at",
        "ends_at",
      ]);
      expectFieldErrors(await asAdmin("POST", "/discounts", { name: "x", product_ids: [] }), [
        "percent_off",
        "product_ids",
        "starts_at",
        "ends_at",
      ]);
      // Valid fields but a backwards window next to a bad percentage: both reported.
      const product = await createProduct();
      expectFieldErrors(
        await asAdmin(
          "POST",
          "/discounts",
          discountBody([product.id], { percent_off: 101, starts_at: iso(HOUR), ends_at: iso(-HOUR) }),
        ),
        ["percent_off", "ends_at"],
      );
    });
  });

  describe("list and delete", () => {
    it("lists newest first across pages, each discount exactly once, for admins only", async () => {
      const product = await createProduct();
      const created: string[] = [];
      for (let index = 0; index < 5; index++) created.push((await createDiscount([product.id])).id);

      const seen: DiscountJson[] = [];
      let token = "";
      do {
        const query = new URLSearchParams({ page_size: "2", ...(token ? { page_token: token } : {}) });
        const result = await asAdmin("GET", `/discounts?${query}`);
        expect(result.status, result.text).toBe(200);
        expect(Object.keys(result.body as object).sort()).toEqual(["discounts", "next_page_token"]);
        const page = result.body as { discounts: DiscountJson[]; next_page_token: string };
        expect(page.discounts.length).toBeLessThanOrEqual(2);
        seen.push(...page.discounts);
        token = page.next_page_token;
        expect(seen.length).toBeLessThan(500);
      } while (token !== "");
      const ids = seen.map((discount) => discount.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.filter((id) => created.includes(id)).sort()).toEqual([...created].sort());
      const times = seen.map((discount) => Date.parse(discount.created_at));
      for (let index = 1; index < times.length; index++)
        expect(times[index]).toBeLessThanOrEqual(times[index - 1] as number);

      expectProblem(await call("GET", "/discounts"), 401, "unauthenticated");
      expectProblem(await call("GET", "/discounts", { token: app.customerToken }), 403, "permission_denied");
      expectFieldErrors(await asAdmin("GET", "/discounts?page_token=bogus"), ["page_token"]);
      expectFieldErrors(await asAdmin("GET", "/discounts?page_size=101"), ["page_size"]);
    });

    it("deletes with 204, then answers 404; unknown and malformed ids are 404", async () => {
      const product = await createProduct();
      const discount = await createDiscount([product.id]);
      expectProblem(
        await call("DELETE", `/discounts/${discount.id}`, { token: app.customerToken }),
        403,
        "permission_denied",
      );
      const deleted = await asAdmin("DELETE", `/discounts/${discount.id}`);
      expect(deleted.status, deleted.text).toBe(204);
      expect(deleted.text).toBe("");
      expectProblem(await asAdmin("DELETE", `/discounts/${discount.id}`), 404, "not_found");
      expectProblem(await asAdmin("DELETE", "/discounts/not-an-id"), 404, "not_found");
      const listed = await asAdmin("GET", "/discounts?page_size=100");
      expect((listed.body as { discounts: DiscountJson[] }).discounts.map((d) => d.id)).not.toContain(
        discount.id,
      );
      expect((await allDiscountedProducts()).map((item) => item.id)).not.toContain(product.id);
    });
  });

  describe("GET /discounts/products", () => {
    it("shows each product with a discount in force now once, with its largest discount and floored price", async () => {
      const [current, expired, upcoming, deletedLater] = [
        await createProduct(999),
        await createProduct(500),
        await createProduct(500),
        await createProduct(500),
      ] as [ProductJson, ProductJson, ProductJson, ProductJson];
      await createDiscount([current.id], { percent_off: 10 });
      await createDiscount([current.id, deletedLater.id], { percent_off: 33 });
      await createDiscount([current.id], { percent_off: 80, starts_at: iso(-2 * HOUR), ends_at: iso(-HOUR) });
      await createDiscount([expired.id], { starts_at: iso(-2 * HOUR), ends_at: iso(-1000) });
      await createDiscount([upcoming.id], { starts_at: iso(HOUR), ends_at: iso(2 * HOUR) });
      expect((await asAdmin("DELETE", `/products/${deletedLater.id}`)).status).toBe(204);

      // Public: no token needed, but a bad one is refused.
      const firstPage = await call("GET", "/discounts/products?page_size=100");
      expect(firstPage.status, firstPage.text).toBe(200);
      expectIntegerMoneyInText(firstPage.text);
      expectProblem(
        await call("GET", "/discounts/products", { headers: { authorization: "Bearer nope" } }),
        401,
        "unauthenticated",
      );

      const listed = await allDiscountedProducts(2);
      const ids = listed.map((item) => item.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(ids);
      const mine = listed.filter((item) =>
        [current.id, expired.id, upcoming.id, deletedLater.id].includes(item.id),
      );
      expect(mine).toHaveLength(1);
      const [item] = mine as [DiscountedProductJson];
      const { percent_off, discounted_price_cents, ...product } = item;
      expectProductShape(product);
      expect(product).toEqual(current);
      expect({ percent_off, discounted_price_cents }).toEqual({
        percent_off: 33,
        discounted_price_cents: 670,
      });
    });

    it("is not taken for a discount id, and rejects a bad page token", async () => {
      expect((await call("GET", "/discounts/products")).status).toBe(200);
      expectFieldErrors(await call("GET", "/discounts/products?page_token=bogus"), ["page_token"]);
    });
  });

  describe("over Connect", () => {
    const client = () =>
      createClient(InventoryService, createConnectTransport({ baseUrl: app.baseUrl, httpVersion: "1.1" }));
    const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    async function codeOf(promise: Promise<unknown>): Promise<Code> {
      try {
        await promise;
      } catch (error) {
        expect(error).toBeInstanceOf(ConnectError);
        return (error as ConnectError).code;
      }
      throw new Error("expected the call to fail, but it succeeded");
    }

    it("meets the same rules as REST", async () => {
      const inventory = client();
      const product = await createProduct(2000);
      const request = {
        name: "Connect sale",
        percentOff: 25,
        productIds: [product.id],
        startsAt: timestampFromDate(new Date(Date.now() - HOUR)),
        endsAt: timestampFromDate(new Date(Date.now() + HOUR)),
      };
      expect(await codeOf(inventory.createDiscount(request))).toBe(Code.Unauthenticated);
      expect(await codeOf(inventory.createDiscount(request, as(app.customerToken)))).toBe(
        Code.PermissionDenied,
      );
      expect(
        await codeOf(
          inventory.createDiscount({ ...request, productIds: [randomUUID()] }, as(app.adminToken)),
        ),
      ).toBe(Code.NotFound);
      expect(
        await codeOf(
          inventory.createDiscount(
            { ...request, percentOff: 0, endsAt: request.startsAt },
            as(app.adminToken),
          ),
        ),
      ).toBe(Code.InvalidArgument);
      expect(
        await codeOf(inventory.createDiscount({ ...request, startsAt: undefined }, as(app.adminToken))),
      ).toBe(Code.InvalidArgument);

      const { discount } = await inventory.createDiscount(request, as(app.adminToken));
      expect(discount).toMatchObject({
        name: "Connect sale",
        percentOff: 25,
        productIds: [product.id],
        active: true,
      });
      const rest = await asAdmin("GET", "/discounts?page_size=100");
      expect((rest.body as { discounts: DiscountJson[] }).discounts.map((d) => d.id)).toContain(discount?.id);

      expect(await codeOf(inventory.listDiscounts({}))).toBe(Code.Unauthenticated);
      expect(await codeOf(inventory.listDiscounts({}, as(app.customerToken)))).toBe(Code.PermissionDenied);
      const listed = await inventory.listDiscounts({ pageSize: 100 }, as(app.adminToken));
      expect(listed.discounts.map((d) => d.id)).toContain(discount?.id);

      const discounted = await inventory.listDiscountedProducts({ pageSize: 100 });
      const all = [...discounted.products];
      let token = discounted.nextPageToken;
      while (token !== "") {
        const next = await inventory.listDiscountedProducts({ pageSize: 100, pageToken: token });
        all.push(...next.products);
        token = next.nextPageToken;
      }
      const mine = all.find((item) => item.product?.id === product.id);
      expect(mine?.percentOff).toBe(25);
      expect(mine?.discountedPriceCents).toBe(1500n);

      const id = discount?.id as string;
      expect(await codeOf(inventory.deleteDiscount({ id }))).toBe(Code.Unauthenticated);
      expect(await codeOf(inventory.deleteDiscount({ id }, as(app.customerToken)))).toBe(
        Code.PermissionDenied,
      );
      await inventory.deleteDiscount({ id }, as(app.adminToken));
      expect(await codeOf(inventory.deleteDiscount({ id }, as(app.adminToken)))).toBe(Code.NotFound);
      expect(await codeOf(inventory.deleteDiscount({ id: "nope" }, as(app.adminToken)))).toBe(Code.NotFound);
    });
  });
});
