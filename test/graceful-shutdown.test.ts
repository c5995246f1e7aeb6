/**
 * SIGTERM (issue "Flip the flag…"): the process stops accepting, finishes the requests in flight,
 * stops its consumers after their current event and exits within 10 s, losing nothing. Proven on
 * a child process started as `npm start` starts it, on the real PostgreSQL, NATS and Redis, with
 * no test hook in the code: requests are made slow from the client side (a body sent in two
 * halves, seconds apart), and NATS is made unresponsive through a proxy of the test's own.
 *
 * After SIGTERM a new connection is refused rather than answered 503: a refused connection is
 * safe for any client or load balancer to retry elsewhere (nothing was sent), and the port takes no
 * new work while the process drains.
 */
import http from "node:http";
import net from "node:net";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChildApp, freePorts, startChildApp } from "./support/child-app.js";
import {
  createServiceDeployment,
  type ServiceDeployment,
  serviceUrls,
  testToken,
} from "./support/deployment.js";
import { httpCall } from "./support/http-call.js";
import { expectOrderShape, type OrderJson, orderApi } from "./support/order-json.js";
import {
  countProducts,
  expectStoreStats,
  expectUserOrderStats,
  pollUntil,
  sameJson,
  storeStatsTruth,
  userStatsTruth,
} from "./support/statistics-json.js";
import type { TestApp } from "./support/test-app.js";

const services = !Array.isArray(serviceUrls());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  status?: number;
  headers?: http.IncomingHttpHeaders;
  text: string;
  /** The socket error (ECONNRESET, "socket hang up", …) when there was no complete response. */
  error?: string;
  answeredAt: number;
}

/**
 * One HTTP/1.1 request. `firstPart` of the body goes out at once (with the headers); the rest only
 * when `finish()` is called, so the request stays in flight on the server as long as the test likes.
 */
function request(
  port: number,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; agent?: http.Agent | false; firstPart?: number } = {},
) {
  const body = options.json === undefined ? "" : JSON.stringify(options.json);
  const headers: Record<string, string | number> = { "content-length": Buffer.byteLength(body) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (body) headers["content-type"] = "application/json";
  const req = http.request({ host: "127.0.0.1", port, method, path, headers, agent: options.agent });
  const answer = new Promise<Answer>((resolve) => {
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode, headers: res.headers, text, answeredAt: Date.now() }),
      );
      res.on("error", (error) => resolve({ text, error: error.message, answeredAt: Date.now() }));
    });
    req.on("error", (error: NodeJS.ErrnoException) =>
      resolve({ text: "", error: error.code ?? error.message, answeredAt: Date.now() }),
    );
  });
  // Resolves once every byte given so far has been handed to the operating system.
  const sent = (chunk: string, end: boolean) =>
    new Promise<void>((resolve) => {
      if (end) req.end(chunk, () => resolve());
      else req.write(chunk, () => resolve());
    });
  const split = options.firstPart ?? body.length;
  const written = split >= body.length ? sent(body, true) : sent(body.slice(0, split), false);
  return { answer, written, finish: () => sent(body.slice(split), true) };
}

/** Resolves with the error code of a fresh TCP connection attempt, or "connected". */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** A TCP proxy to NATS that can be frozen: it then holds every byte both ways, as a partition would. */
async function startFreezableProxy(target: URL) {
  const pairs: [net.Socket, net.Socket][] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 4222), target.hostname);
    client.pipe(upstream);
    upstream.pipe(client);
    const destroy = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", destroy);
    upstream.on("error", destroy);
    client.on("close", destroy);
    upstream.on("close", destroy);
    pairs.push([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `nats://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    freeze() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    async close() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.skipIf(!services)("graceful shutdown on SIGTERM (child process, real services)", () => {
  let deployment: ServiceDeployment;
  let namespace: string;
  let env: Record<string, string>;
  let port: number;
  let sql: postgres.Sql;
  let adminToken: string;
  const children: ChildApp[] = [];

  const start = async (overrides: Record<string, string> = {}) => {
    const child = await startChildApp({ ...env, ...overrides });
    children.push(child);
    return child;
  };
  /** TestApp-shaped access to the child on `port`, for the shared REST helpers. */
  const app: TestApp = {
    get baseUrl() {
      return `http://127.0.0.1:${port}`;
    },
    namespace: "",
    databaseUrl: undefined,
    get adminToken() {
      return adminToken;
    },
    customerToken: "",
    serviceToken: "",
    token: testToken,
    stop: async () => {},
  };
  const api = orderApi(() => app);

  const unpublished = async () => {
    const [row] = await sql<{ n: number }[]>`
      select (select count(*) from inventory.outbox) + (select count(*) from orders.outbox) as n`;
    return Number(row?.n);
  };

  beforeAll(async () => {
    deployment = await createServiceDeployment();
    namespace = deployment.namespace;
    [port] = (await freePorts(1)) as [number];
    env = { ...deployment.env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn" };
    sql = postgres(deployment.databaseUrl, { max: 2, onnotice: () => {} });
    adminToken = await testToken("admin-1", "admin");
  });

  afterAll(async () => {
    for (const child of children) await child.stop("SIGKILL");
    await sql?.end();
    await deployment?.drop();
  });

  it("answers every request in flight in full, refuses new connections, exits 0 within 10 s, and loses no order, event or statistic", async () => {
    let child = await start();
    const products = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        api.createProduct({ name: `Shutdown ${i}`, price_cents: 1000 + i * 250, stock: 10_000 }),
      ),
    );
    const users = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const sub = `shutdown-user-${i}-${namespace}`;
        return { sub, token: await app.token(sub, "customer") };
      }),
    );
    const orderBody = (i: number) => ({
      items: [
        { product_id: products[i % 4]?.id, quantity: 1 + (i % 3) },
        ...(i % 2 === 0 ? [{ product_id: products[(i + 1) % 4]?.id, quantity: 2 }] : []),
      ],
    });

    // 120 kept-alive connections, open and idle before the burst.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 120 });
    const warm = await Promise.all(
      Array.from({ length: 120 }, () => request(port, "GET", "/healthz", { agent }).answer),
    );
    expect(warm.every((answer) => answer.status === 200)).toBe(true);

    // Slow requests: headers and a bit of the body now, the rest 2.5 s after SIGTERM.
    const slow = Array.from({ length: 3 }, (_, i) =>
      request(port, "POST", "/orders", {
        token: users[i]?.token,
        json: orderBody(120 + i),
        agent: false,
        firstPart: 10,
      }),
    );
    await Promise.all(slow.map((s) => s.written));
    await sleep(200); // the server has read their headers: these requests are in progress

    // The burst: 100 orders on the kept-alive connections, all written out before the signal.
    const burst = Array.from({ length: 100 }, (_, i) =>
      request(port, "POST", "/orders", { token: users[i % 10]?.token, json: orderBody(i), agent }),
    );
    await Promise.all(burst.map((b) => b.written));
    const signalledAt = Date.now();
    const stopping = child.stop("SIGTERM"); // sends the signal before it returns
    // And 20 more on the other idle kept-alive connections, written right behind the signal: they
    // reach the process together with it, as requests do that a client sent a moment before.
    const racing = Array.from({ length: 20 }, (_, i) =>
      request(port, "POST", "/orders", { token: users[i % 10]?.token, json: orderBody(100 + i), agent }),
    );

    // New connections are refused while the process is still draining (the slow ones hold it).
    let refusal = "";
    while (Date.now() - signalledAt < 2_000) {
      refusal = await tryConnect(port);
      if (refusal === "ECONNREFUSED") break;
      await sleep(50);
    }
    expect(refusal).toBe("ECONNREFUSED");
    expect(child.process.exitCode).toBeNull();
    const refusedAfterMs = Date.now() - signalledAt;

    await sleep(2_500 - (Date.now() - signalledAt));
    expect(child.process.exitCode).toBeNull();
    await Promise.all(slow.map((s) => s.finish()));
    const slowAnswers = await Promise.all(slow.map((s) => s.answer));
    const { code, elapsedMs } = await stopping;
    const burstAnswers = await Promise.all(burst.map((b) => b.answer));
    const racingAnswers = await Promise.all(racing.map((r) => r.answer));
    agent.destroy();
    const afterSignal = burstAnswers.filter((answer) => answer.answeredAt > signalledAt).length;
    console.log(
      `SIGTERM → exit ${code} in ${elapsedMs} ms (slow requests finished 2.5 s after the signal); ` +
        `new connection refused ${refusedAfterMs} ms after it; ${afterSignal}/100 burst answers came after it`,
    );
    if (code !== 0) console.log(child.output());
    expect(code).toBe(0);
    expect(elapsedMs).toBeLessThan(10_000);
    expect(afterSignal).toBeGreaterThan(0);

    // Every request in flight got its whole, correct answer.
    const accepted: OrderJson[] = [];
    const userOf = (i: number) => users[i < 120 ? i % 10 : i - 120];
    for (const [i, answer] of [...burstAnswers, ...racingAnswers, ...slowAnswers].entries()) {
      expect(answer.error, `request ${i}`).toBeUndefined();
      expect(answer.status, answer.text).toBe(201);
      const order = JSON.parse(answer.text) as unknown;
      expectOrderShape(order);
      const sentBody = orderBody(i);
      expect(order.items.map((item) => [item.product_id, item.quantity]).sort()).toEqual(
        sentBody.items.map((item) => [item.product_id, item.quantity]).sort(),
      );
      expect(order.user_id).toBe(userOf(i)?.sub);
      accepted.push(order);
    }
    // Those that arrived during the drain were told their connection ends with the answer.
    for (const answer of [...racingAnswers, ...slowAnswers]) expect(answer.headers?.connection).toBe("close");

    // Restart: nothing was lost.
    child = await start();
    const stored = await api.listAll(adminToken, { page_size: "100" });
    expect(stored.map((order) => order.id).sort()).toEqual(accepted.map((order) => order.id).sort());
    for (const order of accepted.slice(0, 10)) {
      const read = await httpCall(app.baseUrl, "GET", `/orders/${order.id}`, { token: adminToken });
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ id: order.id, status: "pending", total_cents: order.total_cents });
    }
    // Stock taken exactly once per stored order, and every reservation confirmed (none left to
    // expire and hand stock back for an order that exists).
    for (const product of products) {
      const ordered = accepted
        .flatMap((order) => order.items)
        .filter((item) => item.product_id === product.id)
        .reduce((sum, item) => sum + item.quantity, 0);
      expect(await api.stockOf(product.id)).toBe(10_000 - ordered);
    }
    const reservationStates = await sql<{ status: string; n: number }[]>`
      select status, count(*)::int as n from inventory.reservations group by status`;
    expect(reservationStates).toEqual([{ status: "confirmed", n: accepted.length }]);
    // Every event got out: the outboxes hold nothing unpublished …
    const outbox = await pollUntil(unpublished, (n) => n === 0, { timeoutMs: 10_000 });
    expect(outbox.value).toBe(0);
    // … and the statistics, fed from them, equal the truth of the orders API, exactly: an event
    // half-applied or applied twice (a redelivery after the restart) would show here.
    const storeTruth = storeStatsTruth(
      stored,
      await countProducts((path) => httpCall(app.baseUrl, "GET", path)),
    );
    const readStore = async () =>
      expectStoreStats(await httpCall(app.baseUrl, "GET", "/stats/user", { token: adminToken }));
    // Up to the JetStream ack wait (30 s): an event in flight to a stopped consumer comes back then.
    const converged = await pollUntil(readStore, (value) => sameJson(value, storeTruth), {
      timeoutMs: 40_000,
      intervalMs: 200,
    });
    console.log(`statistics equal the truth ${Math.round(converged.elapsedMs)} ms after the restart`);
    expect(converged.value).toEqual(storeTruth);
    for (const user of users) {
      const truth = userStatsTruth(
        user.sub,
        stored.filter((order) => order.user_id === user.sub),
      );
      const read = expectUserOrderStats(
        await httpCall(app.baseUrl, "GET", `/stats/user-orders/${encodeURIComponent(user.sub)}`, {
          token: adminToken,
        }),
      );
      expect(read).toEqual(truth);
    }
    // Still exact a little later, once any redelivery has had its chance.
    await sleep(1_500);
    expect(await readStore()).toEqual(storeTruth);

    const second = await child.stop("SIGTERM");
    console.log(`idle process: SIGTERM → exit ${second.code} in ${second.elapsedMs} ms`);
    expect(second.code).toBe(0);
    expect(second.elapsedMs).toBeLessThan(10_000);
  }, 120_000);

  it("cuts what is still running at the deadline, logs it, and exits 1 within 10 s; nothing is lost", async () => {
    // NATS through a proxy that the test freezes: a publish then hangs (up to its 5 s timeout).
    const proxy = await startFreezableProxy(new URL(process.env.NATS_URL as string));
    try {
      const child = await start({ NATS_URL: proxy.url });
      await api.createProduct({ name: "Before the partition" });
      await pollUntil(unpublished, (n) => n === 0, { timeoutMs: 5_000 });
      proxy.freeze();

      // A request in flight at the signal that takes 4.5 s to arrive: served, and its product's
      // event then waits on the frozen NATS while the modules stop.
      const slow = request(port, "POST", "/products", {
        token: adminToken,
        json: { name: "During the partition", price_cents: 500, stock: 3 },
        agent: false,
        firstPart: 5,
      });
      // And one that never finishes sending: cut when the drain time (6 s) is up.
      const stuck = request(port, "POST", "/products", {
        token: adminToken,
        json: { name: "Never sent in full", price_cents: 500, stock: 3 },
        agent: false,
        firstPart: 5,
      });
      await Promise.all([slow.written, stuck.written]);
      await sleep(200);
      const signalledAt = Date.now();
      const stopping = child.stop("SIGTERM");
      await sleep(4_500);
      await slow.finish();
      const answer = await slow.answer;
      const { code, elapsedMs } = await stopping;
      const stuckAnswer = await stuck.answer;
      console.log(`stuck shutdown: SIGTERM → exit ${code} in ${elapsedMs} ms`);
      expect(Date.now() - signalledAt).toBeLessThan(10_500);
      expect(elapsedMs).toBeLessThan(10_000);
      expect(elapsedMs).toBeGreaterThanOrEqual(7_900);
      expect(code).toBe(1);
      expect(answer.status, answer.text).toBe(201);
      expect(stuckAnswer.status).toBeUndefined();
      expect(stuckAnswer.error).toBeDefined();
      const output = child.output();
      expect(output).toContain("1 connection(s) cut with a request still in progress after 6000 ms");
      expect(output).toMatch(/shutdown not finished after 8000 ms/);
      expect(output).toMatch(/"unfinished":\["modules \(in progress\): stopping module \w+"/);

      // Restarted with NATS reachable: the product's event, left in the outbox, goes out.
      const restarted = await start();
      const created = JSON.parse(answer.text) as { id: string };
      expect((await httpCall(app.baseUrl, "GET", `/products/${created.id}`)).status).toBe(200);
      const outbox = await pollUntil(unpublished, (n) => n === 0, { timeoutMs: 10_000 });
      expect(outbox.value).toBe(0);
      expect((await restarted.stop("SIGTERM")).code).toBe(0);
    } finally {
      await proxy.close();
    }
  }, 90_000);
});
