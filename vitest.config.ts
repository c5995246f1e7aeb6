import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // One worker per core (vitest's default leaves one free): most suites wait on servers, child
    // processes and timers, and on two cores this takes npm test from ~580 s to ~410 s.
    maxWorkers: "100%",
    globalSetup: ["test/support/require-services.ts"],
    reporters: ["default"],
  },
});
