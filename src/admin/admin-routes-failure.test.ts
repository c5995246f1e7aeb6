/** When the bundle cannot be built, /admin fails alone: a 500, and the rest of the app still serves. */
import { OpenAPIHono } from "@hono/zod-openapi";
import { expect, it, vi } from "vitest";

vi.mock("./admin-assets.js", async (original) => ({
  ...(await original<typeof import("./admin-assets.js")>()),
  adminAssets: () => Promise.reject(new Error("esbuild is missing")),
}));

it("answers /admin with 500 and leaves the other routes alone", async () => {
  const { registerAdminRoutes } = await import("./admin-routes.js");
  const app = new OpenAPIHono();
  app.get("/healthz", (c) => c.text("ok"));
  registerAdminRoutes(app, { currency: "USD" });
  expect((await app.request("/admin")).status).toBe(500);
  expect((await app.request("/admin/assets/admin-0000000000000000.js")).status).toBe(500);
  expect((await app.request("/healthz")).status).toBe(200);
});
