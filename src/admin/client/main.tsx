/** The admin UI's entry point: renders the app into the page GET /admin serves. */
import "./admin.css";
import { render } from "hono/jsx/dom";
import { App } from "./app.js";

const root = document.getElementById("app");
const currency = document.querySelector<HTMLMetaElement>('meta[name="store-currency"]')?.content || "USD";
if (root !== null) {
  root.textContent = "";
  render(<App currency={currency} />, root);
}
