/**
 * The product catalog over REST, exactly as docs/api.md describes it: status codes, headers, body
 * shapes, filters, paging, validation (every bad field at once), problem+json errors and the
 * role table. Runs once per available set-up, one app per set-up.
 */
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpCallOptions, type HttpResult, httpCall } from "./support/http-call.js";
import { invalidCredentials } from "./support/invalid-tokens.js";
import { expectFieldErrors, expectProblem } from "./support/problem-assertions.js";
import {
  expectIntegerMoneyInText,
  expectProductShape,
  type ProductJson,
  type ProductListJson,
} from "./support/product-json.js";
import { availableSetups, startTestApp, TEST_SECRET, type TestApp } from "./support/test-app.js";

const INVALID_CREDENTIALS = await invalidCredentials();
const WRITE_METHODS = ["PUT", "PATCH", "DELETE"] as const;

/** A category no other test uses, so list assertions can be exact. */
const uniqueCategory = () => `cat-${randomUUID().slice(0, 8)}`;
const base64url = (text: string) => Buffer.from(text).toString("base64url");

describe.each(availableSetups())("products over REST (%s)", (setup) => {
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

  async function createProduct(fields: Record<string, unknown> = {}): Promise<ProductJson> {
    const result = await asAdmin("POST", "/products", {
      name: `Product ${randomUUID().slice(0, 6)}`,
      price_cents: 1000,
      stock: 5,
      ...fields,
    });
    expect(result.status, result.text).toBe(201);
    expectProductShape(result.body);
    return result.body;
  }

  async function getProduct(id: string): Promise<HttpResult> {
    return call("GET", `/products/${encodeURIComponent(id)}`);
  }

  async function listPage(query: Record<string, string>): Promise<ProductListJson> {
    const result = await call("GET", `/products?${new URLSearchParams(query)}`);
    expect(result.status, result.text).toBe(200);
    expect(Object.keys(result.body as object).sort()).toEqual(["next_page_token", "products"]);
    const page = result.body as ProductListJson;
    expect(page.next_page_token).toBeTypeOf("string");
    for (const product of page.products) expectProductShape(product);
    if (page.products.length > 0) expectIntegerMoneyInText(result.text);
    return page;
  }

  /** Follows next_page_token to the end; returns every page. */
  async function listAllPages(query: Record<string, string>): Promise<ProductListJson[]> {
    const pages: ProductListJson[] = [];
    let token = "";
    do {
      const page = await listPage(token === "" ? query : { ...query, page_token: token });
      pages.push(page);
      token = page.next_page_token;
      expect(pages.length, "paging does not end").toBeLessThan(50);
    } while (token !== "");
    return pages;
  }

  const idsOf = (products: ProductJson[]) => products.map((product) => product.id).sort();

  describe("create", () => {
    it("answers 201 with a Location header and the full product, money as a JSON integer", async () => {
      const category = uniqueCategory();
      const before = Date.now();
      const result = await asAdmin("POST", "/products", {
        name: "Espresso cup",
        description: "Porcelain, 90 ml",
        category,
        price_cents: 1299,
        stock: 25,
      });
      expect(result.status, result.text).toBe(201);
      expect(result.headers.get("content-type")).toMatch(/^application\/json\b/);
      expectProductShape(result.body);
      const product = result.body;
      expect(product).toMatchObject({
        name: "Espresso cup",
        description: "Porcelain, 90 ml",
        category,
        price_cents: 1299,
        stock: 25,
      });
      expect(result.text).toMatch(/"price_cents":1299[,}]/);
      expectIntegerMoneyInText(result.text);
      const createdAt = Date.parse(product.created_at);
      expect(createdAt).toBeGreaterThanOrEqual(before - 1000);
      expect(createdAt).toBeLessThanOrEqual(Date.now() + 1000);
      expect(product.updated_at).toBe(product.created_at);

      const location = result.headers.get("location");
      expect(location).not.toBeNull();
      expect(new URL(location as string, app.baseUrl).pathname).toBe(`/products/${product.id}`);
    });

    it("makes the product readable by id and through its Location header, equal to what POST returned", async () => {
      const created = await asAdmin("POST", "/products", { name: "Teapot", price_cents: 4500, stock: 3 });
      expect(created.status).toBe(201);
      const viaLocation = await call("GET", created.headers.get("location") as string);
      expect(viaLocation.status).toBe(200);
      expect(viaLocation.body).toEqual(created.body);
      const byId = await getProduct((created.body as ProductJson).id);
      expect(byId.status).toBe(200);
      expect(byId.headers.get("content-type")).toMatch(/^application\/json\b/);
      expect(byId.body).toEqual(created.body);
      expectIntegerMoneyInText(byId.text);
    });

    it("gives every product its own id and defaults description and category to empty strings", async () => {
      const first = await createProduct({ name: "Plain" });
      const second = await createProduct({ name: "Plain" });
      expect(first.id).not.toBe(second.id);
      expect(first.description).toBe("");
      expect(first.category).toBe("");
    });

    it("accepts a 200-character name, counted in characters rather than UTF-16 units", async () => {
      expect((await createProduct({ name: "n".repeat(200) })).name).toHaveLength(200);
      const emoji = "😀".repeat(200);
      expect((await createProduct({ name: emoji })).name).toBe(emoji);
    });

    it("accepts zero price and zero stock", async () => {
      expect(await createProduct({ price_cents: 0, stock: 0 })).toMatchObject({ price_cents: 0, stock: 0 });
    });

    it("reports every invalid field at once (empty name, price -1, stock -1) and stores nothing", async () => {
      const category = uniqueCategory();
      const result = await asAdmin("POST", "/products", { name: "", price_cents: -1, stock: -1, category });
      expectFieldErrors(result, ["name", "price_cents", "stock"]);
      expect((await listPage({ category })).products).toEqual([]);
    });

    it("rejects a 201-character name", async () => {
      const result = await asAdmin("POST", "/products", { name: "n".repeat(201), price_cents: 1, stock: 1 });
      expectFieldErrors(result, ["name"]);
    });

    it("rejects a category over 100 and a description over 5000 characters (the documented limits)", async () => {
      const result = await asAdmin("POST", "/products", {
        name: "Cup",
        price_cents: 1,
        stock: 1,
        category: "c".repeat(101),
        description: "d".repeat(5001),
      });
      expectFieldErrors(result, ["category", "description"]);
    });

    it('rejects wrong JSON types, naming every field (name 5, price "12", stock 1.5)', async () => {
      const result = await asAdmin("POST", "/products", { name: 5, price_cents: "12", stock: 1.5 });
      expectFieldErrors(result, ["name", "price_cents", "stock"]);
    });

    it("rejects a price given as a string", async () => {
      const result = await asAdmin("POST", "/products", { name: "Cup", price_cents: "12", stock: 1 });
      expectFieldErrors(result, ["price_cents"]);
    });

    it("rejects a non-integer price 1.5", async () => {
      const result = await asAdmin("POST", "/products", { name: "Cup", price_cents: 1.5, stock: 1 });
      expectFieldErrors(result, ["price_cents"]);
    });

    it("rejects a body without the required fields, naming each", async () => {
      expectFieldErrors(await asAdmin("POST", "/products", {}), ["name", "price_cents", "stock"]);
    });

    // The gateway checks ranges as well as types, so a type error does not hide a range error.
    it('lists type errors and range errors together (empty name, price "12", stock -1)', async () => {
      const result = await asAdmin("POST", "/products", { name: "", price_cents: "12", stock: -1 });
      expectFieldErrors(result, ["name", "price_cents", "stock"]);
    });

    // FieldViolations promises one entry per offending field, however many rules it breaks.
    it("names an offending field once (price 1e20, beyond exact JSON integers)", async () => {
      const result = await asAdmin("POST", "/products", { name: "Cup", price_cents: 1e20, stock: 1 });
      expectFieldErrors(result, ["price_cents"]);
    });

    it("rejects malformed JSON with 400 problem+json", async () => {
      const result = await call("POST", "/products", { token: app.adminToken, rawBody: '{"name": "Cup",' });
      expectProblem(result, 400, "invalid_argument");
    });

    it.each([
      ["an array", "[]"],
      ["null", "null"],
      ["a number", "42"],
    ])("rejects %s as the body with 400", async (_name, rawBody) => {
      expectProblem(
        await call("POST", "/products", { token: app.adminToken, rawBody }),
        400,
        "invalid_argument",
      );
    });
  });

  describe("get", () => {
    it("answers 404 problem+json for an unknown id", async () => {
      const id = randomUUID();
      const result = await getProduct(id);
      const problem = expectProblem(result, 404, "not_found");
      expect(problem.detail).toContain(id);
    });

    it.each(["not-a-uuid", "123", "x".repeat(300), "' OR 1=1 --", "01a216f7-0bed-780e-939c-e48b94156af6z"])(
      "answers 404 problem+json for the malformed id %j",
      async (id) => {
        expectProblem(await getProduct(id), 404, "not_found");
      },
    );
  });

  describe("list", () => {
    it("filters by exact category", async () => {
      const category = uniqueCategory();
      const mine = [await createProduct({ category }), await createProduct({ category })];
      await createProduct({ category: `${category}-other` });
      await createProduct({ category: category.toUpperCase() });
      expect(idsOf((await listPage({ category })).products)).toEqual(idsOf(mine));
    });

    it("filters by q: the name contains it, case-insensitively", async () => {
      const category = uniqueCategory();
      const blue = [
        await createProduct({ category, name: "Blue mug" }),
        await createProduct({ category, name: "light BLUE plate" }),
        await createProduct({ category, name: "Blueberry jam" }),
      ];
      await createProduct({ category, name: "Red cup" });
      await createProduct({ category, name: "B-l-u-e" });
      expect(idsOf((await listPage({ category, q: "blue" })).products)).toEqual(idsOf(blue));
      expect(idsOf((await listPage({ category, q: "bLuE" })).products)).toEqual(idsOf(blue));
      expect(idsOf((await listPage({ category, q: "berry" })).products)).toEqual(idsOf(blue.slice(2)));
    });

    it("treats % and _ in q as literal characters", async () => {
      const category = uniqueCategory();
      const percent = await createProduct({ category, name: "100% cotton" });
      await createProduct({ category, name: "100 cotton" });
      await createProduct({ category, name: "1000 cotton" });
      const underscore = await createProduct({ category, name: "snake_case" });
      await createProduct({ category, name: "snakeXcase" });
      const backslash = await createProduct({ category, name: "back\\slash" });
      expect(idsOf((await listPage({ category, q: "%" })).products)).toEqual([percent.id]);
      expect(idsOf((await listPage({ category, q: "100%" })).products)).toEqual([percent.id]);
      expect(idsOf((await listPage({ category, q: "_" })).products)).toEqual([underscore.id]);
      expect(idsOf((await listPage({ category, q: "e_c" })).products)).toEqual([underscore.id]);
      expect(idsOf((await listPage({ category, q: "\\" })).products)).toEqual([backslash.id]);
    });

    it("filters by min_price_cents and max_price_cents, both inclusive", async () => {
      const category = uniqueCategory();
      const [cheap, middle, dear] = [
        await createProduct({ category, price_cents: 100 }),
        await createProduct({ category, price_cents: 200 }),
        await createProduct({ category, price_cents: 300 }),
      ] as [ProductJson, ProductJson, ProductJson];
      expect(idsOf((await listPage({ category, min_price_cents: "200" })).products)).toEqual(
        idsOf([middle, dear]),
      );
      expect(idsOf((await listPage({ category, max_price_cents: "200" })).products)).toEqual(
        idsOf([cheap, middle]),
      );
      expect(
        idsOf((await listPage({ category, min_price_cents: "200", max_price_cents: "200" })).products),
      ).toEqual([middle.id]);
      expect(
        idsOf((await listPage({ category, min_price_cents: "101", max_price_cents: "299" })).products),
      ).toEqual([middle.id]);
      expect((await listPage({ category, min_price_cents: "301" })).products).toEqual([]);
    });

    it("with in_stock=true returns only products whose stock is above zero", async () => {
      const category = uniqueCategory();
      const stocked = [
        await createProduct({ category, stock: 1 }),
        await createProduct({ category, stock: 40 }),
      ];
      await createProduct({ category, stock: 0 });
      expect(idsOf((await listPage({ category, in_stock: "true" })).products)).toEqual(idsOf(stocked));
      expect((await listPage({ category })).products).toHaveLength(3);
    });

    it("combines filters with AND", async () => {
      const category = uniqueCategory();
      const match = await createProduct({ category, name: "Green bowl", price_cents: 500, stock: 2 });
      await createProduct({ category, name: "Green bowl", price_cents: 500, stock: 0 });
      await createProduct({ category, name: "Green bowl", price_cents: 900, stock: 2 });
      await createProduct({ category, name: "Green cup", price_cents: 500, stock: 2 });
      const page = await listPage({ category, q: "bowl", max_price_cents: "600", in_stock: "true" });
      expect(idsOf(page.products)).toEqual([match.id]);
    });

    it('pages with next_page_token: every item exactly once, and "" on the last page', async () => {
      const category = uniqueCategory();
      const created: ProductJson[] = [];
      for (let index = 0; index < 7; index++) created.push(await createProduct({ category }));
      const pages = await listAllPages({ category, page_size: "3" });
      expect(pages.map((page) => page.products.length)).toEqual([3, 3, 1]);
      expect(pages.map((page) => page.next_page_token === "")).toEqual([false, false, true]);
      const seen = pages.flatMap((page) => page.products.map((product) => product.id));
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort()).toEqual(idsOf(created));
    });

    it('ends with "" on a full last page instead of pointing at an empty one', async () => {
      const category = uniqueCategory();
      for (let index = 0; index < 4; index++) await createProduct({ category });
      const pages = await listAllPages({ category, page_size: "2" });
      expect(pages.map((page) => page.products.length)).toEqual([2, 2]);
      const single = await listPage({ category, page_size: "4" });
      expect(single.products).toHaveLength(4);
      expect(single.next_page_token).toBe("");
    });

    it("keeps the filters across pages", async () => {
      const category = uniqueCategory();
      const stocked: ProductJson[] = [];
      for (let index = 0; index < 6; index++) {
        const product = await createProduct({ category, stock: index % 2 });
        if (index % 2 === 1) stocked.push(product);
      }
      const pages = await listAllPages({ category, in_stock: "true", page_size: "2" });
      expect(idsOf(pages.flatMap((page) => page.products))).toEqual(idsOf(stocked));
      expect(pages.map((page) => page.products.length)).toEqual([2, 1]);
    });

    it("uses a default page size of 20", async () => {
      const category = uniqueCategory();
      for (let index = 0; index < 21; index++) await createProduct({ category });
      const first = await listPage({ category });
      expect(first.products).toHaveLength(20);
      expect(first.next_page_token).not.toBe("");
      const second = await listPage({ category, page_token: first.next_page_token });
      expect(second.products).toHaveLength(1);
      expect(second.next_page_token).toBe("");
    });

    it.each(["1", "100"])("accepts page_size=%s", async (pageSize) => {
      const category = uniqueCategory();
      await createProduct({ category });
      await createProduct({ category });
      const page = await listPage({ category, page_size: pageSize });
      expect(page.products).toHaveLength(pageSize === "1" ? 1 : 2);
    });

    // Over REST page_size is 1–100; only proto3's unset 0 means "the default" on Connect.
    it.each(["0", "101", "abc", "-1", "1.5"])(
      "rejects page_size=%j with 400 naming page_size",
      async (pageSize) => {
        const result = await call("GET", `/products?page_size=${encodeURIComponent(pageSize)}`);
        expectFieldErrors(result, ["page_size"]);
      },
    );

    it.each([
      ["garbage", "garbage"],
      ["a token of another shape", base64url(JSON.stringify({ k: "not-an-id" }))],
      ["non-JSON base64", base64url("hello")],
    ])("rejects a bad page_token (%s) with 400 naming page_token", async (_name, token) => {
      const result = await call("GET", `/products?page_token=${encodeURIComponent(token)}`);
      expectFieldErrors(result, ["page_token"]);
    });

    it.each([
      ["in_stock", "maybe"],
      ["in_stock", "yes"],
      ["min_price_cents", "abc"],
      ["min_price_cents", "-1"],
      ["max_price_cents", "1.5"],
      ["max_price_cents", "1e3"],
    ])("rejects the unknown query value %s=%s with 400 naming it", async (name, value) => {
      const result = await call("GET", `/products?${new URLSearchParams({ [name]: value })}`);
      expectFieldErrors(result, [name]);
    });
  });

  describe("update", () => {
    it.each(["PUT", "PATCH"])("%s changes only the fields it is given", async (method) => {
      const category = uniqueCategory();
      const original = await createProduct({
        name: "Old name",
        description: "kept",
        category,
        price_cents: 1000,
        stock: 4,
      });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const result = await asAdmin(method, `/products/${original.id}`, {
        price_cents: 1500,
        name: "New name",
      });
      expect(result.status, result.text).toBe(200);
      expectProductShape(result.body);
      expectIntegerMoneyInText(result.text);
      const updated = result.body;
      expect(updated).toEqual({
        ...original,
        name: "New name",
        price_cents: 1500,
        updated_at: updated.updated_at,
      });
      expect(Date.parse(updated.updated_at)).toBeGreaterThan(Date.parse(original.updated_at));

      // A read after the write never returns the old value.
      const read = await getProduct(original.id);
      expect(read.body).toEqual(updated);
      const listed = await listPage({ category });
      expect(listed.products).toEqual([updated]);
    });

    it.each(["PUT", "PATCH"])("%s can change stock, description and category", async (method) => {
      const original = await createProduct({ stock: 4, description: "a", category: uniqueCategory() });
      const category = uniqueCategory();
      const result = await asAdmin(method, `/products/${original.id}`, {
        stock: 0,
        description: "b",
        category,
      });
      expect(result.status, result.text).toBe(200);
      expect(result.body).toMatchObject({
        stock: 0,
        description: "b",
        category,
        price_cents: original.price_cents,
      });
      expect((await getProduct(original.id)).body).toMatchObject({ stock: 0, description: "b", category });
    });

    it.each(["PUT", "PATCH"])("%s with an empty body is a 400", async (method) => {
      const original = await createProduct();
      expectProblem(await asAdmin(method, `/products/${original.id}`, {}), 400, "invalid_argument");
      expect((await getProduct(original.id)).body).toEqual(original);
    });

    it.each(["PUT", "PATCH"])(
      "%s reports every invalid field at once and changes nothing",
      async (method) => {
        const original = await createProduct();
        const result = await asAdmin(method, `/products/${original.id}`, {
          name: "",
          price_cents: -1,
          stock: -1,
        });
        expectFieldErrors(result, ["name", "price_cents", "stock"]);
        expect((await getProduct(original.id)).body).toEqual(original);
      },
    );

    it.each(["PUT", "PATCH"])("%s rejects wrong types and a 201-character name", async (method) => {
      const original = await createProduct();
      expectFieldErrors(await asAdmin(method, `/products/${original.id}`, { price_cents: "12" }), [
        "price_cents",
      ]);
      expectFieldErrors(await asAdmin(method, `/products/${original.id}`, { stock: 1.5 }), ["stock"]);
      expectFieldErrors(await asAdmin(method, `/products/${original.id}`, { name: "n".repeat(201) }), [
        "name",
      ]);
      expect((await getProduct(original.id)).body).toEqual(original);
    });

    it.each(["PUT", "PATCH"])("%s rejects malformed JSON with 400", async (method) => {
      const original = await createProduct();
      const result = await call(method, `/products/${original.id}`, {
        token: app.adminToken,
        rawBody: "{stock: 1}",
      });
      expectProblem(result, 400, "invalid_argument");
    });

    it.each(["PUT", "PATCH"])("%s of an unknown or malformed id is a 404", async (method) => {
      expectProblem(await asAdmin(method, `/products/${randomUUID()}`, { stock: 1 }), 404, "not_found");
      expectProblem(await asAdmin(method, "/products/not-a-uuid", { stock: 1 }), 404, "not_found");
    });
  });

  describe("delete", () => {
    it("answers 204 with no body, after which the product is gone everywhere", async () => {
      const category = uniqueCategory();
      const product = await createProduct({ category });
      expect((await getProduct(product.id)).status).toBe(200); // warm the cache first
      const result = await asAdmin("DELETE", `/products/${product.id}`);
      expect(result.status).toBe(204);
      expect(result.text).toBe("");
      expectProblem(await getProduct(product.id), 404, "not_found");
      expectProblem(await asAdmin("DELETE", `/products/${product.id}`), 404, "not_found");
      expectProblem(await asAdmin("PATCH", `/products/${product.id}`, { stock: 1 }), 404, "not_found");
      expect((await listPage({ category })).products).toEqual([]);
    });

    it("of an unknown or malformed id is a 404", async () => {
      expectProblem(await asAdmin("DELETE", `/products/${randomUUID()}`), 404, "not_found");
      expectProblem(await asAdmin("DELETE", "/products/not-a-uuid"), 404, "not_found");
    });
  });

  describe("authentication and roles", () => {
    const validCreateBody = () => ({
      name: "Guarded",
      price_cents: 100,
      stock: 1,
      category: uniqueCategory(),
    });
    const writeBody = (method: string) => (method === "DELETE" ? undefined : { stock: 99 });

    it("POST without a token is 401 and creates nothing", async () => {
      const body = validCreateBody();
      expectProblem(await call("POST", "/products", { json: body }), 401, "unauthenticated");
      expect((await listPage({ category: body.category })).products).toEqual([]);
    });

    it("POST as a customer is 403 and creates nothing", async () => {
      const body = validCreateBody();
      const result = await call("POST", "/products", { token: app.customerToken, json: body });
      expectProblem(result, 403, "permission_denied");
      expect((await listPage({ category: body.category })).products).toEqual([]);
    });

    it.each(WRITE_METHODS)("%s without a token is 401 and changes nothing", async (method) => {
      const product = await createProduct();
      const result = await call(method, `/products/${product.id}`, { json: writeBody(method) });
      expectProblem(result, 401, "unauthenticated");
      expect((await getProduct(product.id)).body).toEqual(product);
    });

    it.each(WRITE_METHODS)("%s as a customer is 403 and changes nothing", async (method) => {
      const product = await createProduct();
      const result = await call(method, `/products/${product.id}`, {
        token: app.customerToken,
        json: writeBody(method),
      });
      expectProblem(result, 403, "permission_denied");
      expect((await getProduct(product.id)).body).toEqual(product);
    });

    it.each(INVALID_CREDENTIALS)("POST with $name is 401 and creates nothing", async ({ header }) => {
      const body = validCreateBody();
      const result = await call("POST", "/products", { json: body, headers: { authorization: header } });
      expectProblem(result, 401, "unauthenticated");
      expect((await listPage({ category: body.category })).products).toEqual([]);
    });

    it.each(INVALID_CREDENTIALS)("DELETE with $name is 401 and deletes nothing", async ({ header }) => {
      const product = await createProduct();
      const result = await call("DELETE", `/products/${product.id}`, { headers: { authorization: header } });
      expectProblem(result, 401, "unauthenticated");
      expect((await getProduct(product.id)).status).toBe(200);
    });

    it("accepts an admin token minted elsewhere, with or without exp", async () => {
      const key = new TextEncoder().encode(TEST_SECRET);
      const withoutExp = await new SignJWT({ role: "admin" })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject("ops")
        .sign(key);
      const withExp = await new SignJWT({ role: "admin" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("ops")
        .setExpirationTime("5m")
        .sign(key);
      for (const token of [withoutExp, withExp]) {
        const result = await call("POST", "/products", { token, json: validCreateBody() });
        expect(result.status, result.text).toBe(201);
      }
    });

    it("lets anyone read products, with no token or a customer token", async () => {
      const product = await createProduct({ category: uniqueCategory() });
      for (const token of [undefined, app.customerToken, app.adminToken]) {
        const one = await call("GET", `/products/${product.id}`, { token });
        expect(one.status).toBe(200);
        expect(one.body).toEqual(product);
        const list = await call("GET", `/products?category=${product.category}`, { token });
        expect(list.status).toBe(200);
        expect((list.body as ProductListJson).products).toEqual([product]);
      }
    });

    it.each(INVALID_CREDENTIALS)("a public read with $name is 401", async ({ header }) => {
      const product = await createProduct();
      const headers = { authorization: header };
      expectProblem(await call("GET", `/products/${product.id}`, { headers }), 401, "unauthenticated");
      expectProblem(await call("GET", "/products", { headers }), 401, "unauthenticated");
    });
  });

  describe("unknown routes", () => {
    it.each([
      ["GET", "/nope"],
      ["GET", "/products/some-id/nope"],
      ["POST", "/products/some-id"],
      ["GET", "/product"],
    ])("%s %s is a 404 problem+json", async (method, path) => {
      expectProblem(await call(method, path, { token: app.adminToken }), 404, "not_found");
    });
  });
});
