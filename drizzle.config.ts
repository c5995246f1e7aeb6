import { defineConfig } from "drizzle-kit";

// Each module's schema file declares its own PostgreSQL schema; one migration history covers all.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/modules/*/*schema.ts",
  out: "./drizzle",
});
