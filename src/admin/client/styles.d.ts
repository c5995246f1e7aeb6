/** Stylesheets are bundled by esbuild (src/admin/admin-assets.ts). */
declare module "*.css";
