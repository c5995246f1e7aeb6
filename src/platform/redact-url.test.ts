import { describe, expect, it } from "vitest";
import { redactUrl } from "./redact-url.js";

describe("redactUrl", () => {
  it.each([
    ["nats://alice:s3cret@nats:4222", "nats://***@nats:4222"],
    ["nats://TOKEN@nats:4222,nats://bob:pw@other:4222", "nats://***@nats:4222,nats://***@other:4222"],
    ["postgres://app:p%40ss@db:5432/shop?sslmode=require", "postgres://***@db:5432/shop?sslmode=require"],
    ["redis://:only-a-password@cache:6379/0", "redis://***@cache:6379/0"],
    [
      "failed to reach http://inventory:7001/x (user@example.com)",
      "failed to reach http://inventory:7001/x (user@example.com)",
    ],
  ])("%s → %s", (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});
