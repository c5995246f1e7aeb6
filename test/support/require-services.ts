/**
 * Vitest global setup. With REQUIRE_SERVICES=1 (as .ci/run sets it) a missing service URL or an
 * unreachable service fails the whole run before any suite could quietly skip.
 */
import net from "node:net";

const REQUIRED = ["DATABASE_URL", "NATS_URL", "REDIS_URL"] as const;

export default async function requireServices(): Promise<void> {
  if (process.env.REQUIRE_SERVICES !== "1") return;
  for (const name of REQUIRED) {
    const value = process.env[name];
    if (!value) throw new Error(`REQUIRE_SERVICES=1 but ${name} is not set`);
    const url = new URL(value);
    const port = Number(url.port || { "postgres:": 5432, "nats:": 4222, "redis:": 6379 }[url.protocol]);
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, url.hostname);
      socket.setTimeout(3000, () => {
        socket.destroy();
        reject(new Error(`${name}: ${url.host} did not answer`));
      });
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", (error) =>
        reject(new Error(`${name}: ${url.host} is unreachable (${error.message})`)),
      );
    });
  }
}
