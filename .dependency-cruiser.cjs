/**
 * Module boundaries, checked by `npm run lint`:
 * - a module imports src/gen, src/platform and its own files, never another module;
 * - src/platform imports no module and not the gateway;
 * - the gateway talks to modules only through generated clients;
 * - only the composition root (src/app.ts, src/composition/) imports a module's index.ts, and nothing reaches
 *   past a module's index.ts from outside;
 * - the admin UI's browser code (src/admin/client/) imports only itself and Hono's JSX runtime, and
 *   nothing on the server imports it: it reaches the platform through the public REST API alone;
 * - outside src/platform, a platform subsystem (src/platform/<name>/) is used only through its
 *   index.ts, its public surface.
 */
module.exports = {
  forbidden: [
    {
      name: "no-cross-module-imports",
      comment: "Modules talk to each other only through Connect clients of src/gen services.",
      severity: "error",
      from: { path: "^src/modules/([^/]+)/" },
      to: { path: "^src/modules/([^/]+)/", pathNot: "^src/modules/$1/" },
    },
    {
      name: "modules-do-not-import-the-gateway",
      severity: "error",
      from: { path: "^src/modules/" },
      to: { path: "^src/(gateway|composition|app\\.ts|main\\.ts)" },
    },
    {
      name: "platform-imports-no-module",
      comment: "src/platform is module-agnostic.",
      severity: "error",
      from: { path: "^src/platform/" },
      to: { path: "^src/(modules|gateway|composition|app\\.ts|main\\.ts)" },
    },
    {
      name: "gateway-uses-clients-not-modules",
      severity: "error",
      from: { path: "^src/gateway/" },
      to: { path: "^src/modules/" },
    },
    {
      name: "only-the-composition-root-mounts-modules",
      comment:
        "src/app.ts with src/composition/, and the operator commands in src/cli are the composition roots.",
      severity: "error",
      from: { pathNot: "^src/(app\\.ts|composition/|cli/|modules/)" },
      to: { path: "^src/modules/[^/]+/index\\.ts$" },
    },
    {
      name: "no-reaching-into-module-internals",
      severity: "error",
      from: { pathNot: "^src/modules/" },
      to: { path: "^src/modules/[^/]+/(?!index\\.ts$)" },
    },
    {
      name: "platform-subsystems-through-their-index",
      comment:
        "The gateway, the modules and the composition roots use a platform subsystem only through its index.ts.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/platform/" },
      to: { path: "^src/platform/[^/]+/(?!index\\.ts$)" },
    },
    {
      name: "admin-ui-talks-only-rest",
      comment: "The admin UI's browser code reaches the platform through the public REST API, nothing else.",
      severity: "error",
      from: { path: "^src/admin/client/" },
      to: { pathNot: "^(src/admin/client/|node_modules/hono/)" },
    },
    {
      name: "admin-ui-is-bundled-not-imported",
      comment:
        "The browser code is bundled by esbuild (src/admin/admin-assets.ts), never imported by the server.",
      severity: "error",
      from: { pathNot: "^src/admin/client/" },
      to: { path: "^src/admin/client/" },
    },
    {
      name: "admin-pages-know-no-module",
      comment: "The admin UI's server side serves a page and its assets; the page does the rest over REST.",
      severity: "error",
      from: { path: "^src/admin/" },
      to: { path: "^src/(modules|composition|gen|gateway)/" },
    },
    {
      name: "generated-code-is-a-leaf",
      severity: "error",
      from: { path: "^src/gen/" },
      to: { path: "^src/", pathNot: "^src/gen/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "\\.test\\.ts$" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      extensions: [".ts", ".tsx", ".js"],
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
  },
};
